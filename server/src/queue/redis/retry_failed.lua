-- Gives a failed job one more attempt: back in its client's line as its next attempt (one more
-- than it was allowed, if it had used them all), its record and idempotency key kept until it
-- finishes anew, and counted as its client's again. Returns 'ok', 'not_found' or 'phase:<phase>'.
local f = redis.call('HMGET', job_key, 'phase', 'attempt', 'maxAttempts', 'idem')
if not f[1] then return 'not_found' end
if f[1] ~= 'failed' then return 'phase:' .. f[1] end
local attempt = tonumber(f[2]) + 1
redis.call('HSET', job_key, 'phase', 'queued', 'attempt', int(attempt),
  'maxAttempts', int(math.max(tonumber(f[3]), attempt)))
redis.call('HDEL', job_key, 'finishedAt')
reset_progress(job_key)
redis.call('PERSIST', job_key)
redis.call('PERSIST', prefix .. 'attempts:' .. job_id)
index_queued(prefix, job_key, job_id, 'failed')
if f[4] then redis.call('PERSIST', prefix .. 'idem:' .. f[4]) end
local client = client_of(job_key)
redis.call('SADD', prefix .. 'unfinished:' .. client, job_id)
wait_back(prefix, client, job_id)
redis.call('RPUSH', wake_key, job_id)
redis.call('LTRIM', wake_key, -1000, -1)
return 'ok'
