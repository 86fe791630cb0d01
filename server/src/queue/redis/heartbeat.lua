-- Records an instance as alive until now + ttl_ms: its hash {p}:instance:<id> (which expires
-- then) and its deadline in the registry set, from which instances past theirs are dropped.
local now = now_ms()
local instance_key = prefix .. 'instance:' .. instance_id
redis.call('HSET', instance_key, 'id', instance_id, 'host', host, 'concurrency', concurrency,
  'running', running, 'startedAt', started_at, 'seenAt', int(now), 'originState', origin_state,
  'originAt', origin_at, 'originError', origin_error)
redis.call('PEXPIRE', instance_key, ttl_ms)
redis.call('ZADD', instances_key, now + tonumber(ttl_ms), instance_id)
redis.call('ZREMRANGEBYSCORE', instances_key, '-inf', now)
-- The console's depth chart: the minute's last sample of the unfinished jobs.
local minute_key = prefix .. 'minute:' .. int(math.floor(now / 60000))
redis.call('HSET', minute_key,
  'waiting', int((tonumber(redis.call('GET', waiting_key)) or 0) + redis.call('ZCARD', delayed_key)),
  'processing', int(redis.call('ZCARD', active_key)))
redis.call('EXPIRE', minute_key, 7200)
return redis.call('EXISTS', paused_key)
