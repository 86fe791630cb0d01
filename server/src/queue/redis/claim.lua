-- KEYS: wait list, active set (by lease deadline), delayed set (by next attempt time)
-- ARGV: prefix, lease ttl ms, retention ms, max jobs, then one fresh token per job
-- Returns the number of expired leases taken back, then per claimed job: id, token, file ids,
-- delay ms, attempt, max attempts, and the upload an earlier attempt left unfinished ('' if none).
local prefix = ARGV[1]
local lease_ms = tonumber(ARGV[2])
local now = now_ms()

-- Retries whose time has come join the back of the line.
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)) do
  redis.call('ZREM', KEYS[3], id)
  local job_key = prefix .. 'job:' .. id
  redis.call('HSET', job_key, 'phase', 'queued')
  redis.call('HDEL', job_key, 'nextAttemptAt')
  redis.call('RPUSH', KEYS[1], id)
end

-- Jobs whose holder stopped renewing run again as their next attempt, first in line.
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for i = #expired, 1, -1 do
  local id = expired[i]
  redis.call('ZREM', KEYS[2], id)
  local job_key = prefix .. 'job:' .. id
  local f = redis.call('HMGET', job_key, 'attempt', 'maxAttempts')
  redis.call('HDEL', job_key, 'token', 'leaseDeadline', 'startedAt')
  redis.call('HSET', job_key, 'progress', '0', 'error', 'the worker stopped responding (lease expired)')
  if tonumber(f[1]) < tonumber(f[2]) then
    redis.call('HSET', job_key, 'attempt', int(tonumber(f[1]) + 1), 'phase', 'queued')
    redis.call('LPUSH', KEYS[1], id)
  else
    finish(prefix, job_key, 'failed', now, ARGV[3])
  end
end

local claimed = {tostring(#expired)}
for i = 1, tonumber(ARGV[4]) do
  local id = redis.call('LPOP', KEYS[1])
  if not id then break end
  local job_key = prefix .. 'job:' .. id
  if redis.call('HGET', job_key, 'phase') == 'queued' then
    local token = ARGV[4 + i]
    local deadline = now + lease_ms
    redis.call('HSET', job_key, 'phase', 'processing', 'progress', '0', 'startedAt', int(now),
      'token', token, 'leaseDeadline', int(deadline))
    redis.call('ZADD', KEYS[2], deadline, id)
    local f = redis.call('HMGET', job_key, 'fileIds', 'delayMs', 'attempt', 'maxAttempts', 'upload')
    for _, v in ipairs({id, token, f[1], f[2], f[3], f[4], f[5] or ''}) do
      table.insert(claimed, v)
    end
  end
end
return claimed
