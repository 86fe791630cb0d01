-- Records a failed attempt, for the lease holder only: schedules the next attempt after
-- `wait_ms` (queue::backoff computes it), or fails the job after its last attempt or a permanent
-- failure (`permanent` '1': no retry whatever attempts remain). Returns
-- {'retrying', attempt, next at}, {'failed'} or {'lost'}.
if not holds(job_key, token) then return {'lost'} end
local now = now_ms()
redis.call('ZREM', active_key, job_id)
local f = redis.call('HMGET', job_key, 'attempt', 'maxAttempts')
local attempt, max_attempts = tonumber(f[1]), tonumber(f[2])
redis.call('HSET', job_key, 'error', error_message)
attempt_ended(prefix, job_id, 'failed', now, error_message)
reset_progress(job_key)
if permanent == '1' or attempt >= max_attempts then
  finish(prefix, job_key, 'failed', now, retention_ms)
  return {'failed'}
end
local next_at = now + tonumber(wait_ms)
redis.call('HSET', job_key, 'phase', 'retrying', 'attempt', int(attempt + 1),
  'nextAttemptAt', int(next_at))
redis.call('HDEL', job_key, 'token', 'leaseDeadline', 'startedAt')
redis.call('ZADD', delayed_key, next_at, job_id)
index_phase(prefix, job_id, 'processing', 'retrying', next_at)
return {'retrying', int(attempt + 1), int(next_at)}
