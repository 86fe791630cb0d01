-- KEYS: lock key
-- ARGV: holder, ttl ms
-- Takes a work lock for the holder (or extends it if the holder has it already). Returns 'ok', or
-- the name of the holder that has it.
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[1] then return current end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 'ok'
