-- Takes a work lock for the holder (or extends it if the holder has it already). Returns 'ok', or
-- the name of the holder that has it.
local current = redis.call('GET', lock_key)
if current and current ~= holder then return current end
redis.call('SET', lock_key, holder, 'PX', ttl_ms)
return 'ok'
