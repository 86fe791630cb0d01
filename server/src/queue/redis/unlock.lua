-- Gives a work lock up if the holder has it; anyone else's lock stays. Returns 1 or 0.
if redis.call('GET', lock_key) ~= holder then return 0 end
redis.call('DEL', lock_key)
return 1
