-- KEYS: job hash, active set, turns list
-- ARGV: job id, token, prefix
-- Gives a held job back to the front of the line without using an attempt. Returns 'ok'/'lost'.
if not holds(KEYS[1], ARGV[2]) then return 'lost' end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[1], 'phase', 'queued')
reset_progress(KEYS[1])
redis.call('HDEL', KEYS[1], 'token', 'leaseDeadline', 'startedAt')
wait_front(ARGV[3], client_of(KEYS[1]), ARGV[1])
return 'ok'
