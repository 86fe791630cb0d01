-- KEYS: job hash, active set
-- ARGV: prefix, job id, token, result key, result size, retention ms
-- Marks the job completed, for the lease holder only. Returns 'ok' or 'lost'.
if not holds(KEYS[1], ARGV[3]) then return 'lost' end
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('HSET', KEYS[1], 'progress', '100', 'resultKey', ARGV[4], 'resultSize', ARGV[5])
redis.call('HDEL', KEYS[1], 'error', 'upload')
finish(ARGV[1], KEYS[1], 'completed', now_ms(), ARGV[6])
return 'ok'
