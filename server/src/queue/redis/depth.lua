-- KEYS: waiting count, delayed set, active set
-- The unfinished jobs by state, read in one step: {waiting, retrying, processing}. A script, not
-- a MULTI: Redis refuses every transaction while it is out of memory, reads included.
return {tonumber(redis.call('GET', KEYS[1]) or '0'), redis.call('ZCARD', KEYS[2]),
  redis.call('ZCARD', KEYS[3])}
