-- KEYS: job hash, active set
-- ARGV: job id, token, percent, lease ttl ms
-- Records progress and extends the lease, for the lease holder only. Returns 'ok' or 'lost'.
if not holds(KEYS[1], ARGV[2]) then return 'lost' end
local deadline = now_ms() + tonumber(ARGV[4])
redis.call('HSET', KEYS[1], 'progress', ARGV[3], 'leaseDeadline', int(deadline))
redis.call('ZADD', KEYS[2], deadline, ARGV[1])
return 'ok'
