-- KEYS: lock key
-- ARGV: holder
-- Gives a work lock up if the holder has it; anyone else's lock stays. Returns 1 or 0.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
