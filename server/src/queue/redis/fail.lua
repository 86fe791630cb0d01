-- KEYS: job hash, active set, delayed set
-- ARGV: prefix, job id, token, error, wait before the next attempt ms (queue::backoff computes it),
--       retention ms, permanent ('1': no retry whatever attempts remain, '0')
-- Records a failed attempt, for the lease holder only: schedules the next attempt after the
-- wait, or fails the job after its last attempt or a permanent failure. Returns
-- {'retrying', attempt, next at}, {'failed'} or {'lost'}.
if not holds(KEYS[1], ARGV[3]) then return {'lost'} end
local now = now_ms()
redis.call('ZREM', KEYS[2], ARGV[2])
local f = redis.call('HMGET', KEYS[1], 'attempt', 'maxAttempts')
local attempt, max_attempts = tonumber(f[1]), tonumber(f[2])
redis.call('HSET', KEYS[1], 'error', ARGV[4])
reset_progress(KEYS[1])
if ARGV[7] == '1' or attempt >= max_attempts then
  finish(ARGV[1], KEYS[1], 'failed', now, ARGV[6])
  return {'failed'}
end
local next_at = now + tonumber(ARGV[5])
redis.call('HSET', KEYS[1], 'phase', 'retrying', 'attempt', int(attempt + 1),
  'nextAttemptAt', int(next_at))
redis.call('HDEL', KEYS[1], 'token', 'leaseDeadline', 'startedAt')
redis.call('ZADD', KEYS[3], next_at, ARGV[2])
return {'retrying', int(attempt + 1), int(next_at)}
