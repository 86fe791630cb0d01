-- KEYS: lock key
-- ARGV: holder, ttl ms
-- Extends a work lock the holder still has. Returns 1, or 0 when it has lost it.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
