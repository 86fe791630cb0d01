-- Extends a work lock the holder still has. Returns 1, or 0 when it has lost it.
if redis.call('GET', lock_key) ~= holder then return 0 end
redis.call('PEXPIRE', lock_key, ttl_ms)
return 1
