-- The unfinished jobs by state, read in one step: {waiting, retrying, processing}. A script, not
-- a MULTI: Redis refuses every transaction while it is out of memory, reads included.
return {tonumber(redis.call('GET', waiting_key) or '0'), redis.call('ZCARD', delayed_key),
  redis.call('ZCARD', active_key)}
