-- Records an instance as alive until now + ttl_ms: its hash {p}:instance:<id> (which expires
-- then) and its deadline in the registry set, from which instances past theirs are dropped.
local now = now_ms()
local instance_key = prefix .. 'instance:' .. instance_id
redis.call('HSET', instance_key, 'id', instance_id, 'host', host, 'concurrency', concurrency,
  'running', running, 'startedAt', started_at, 'seenAt', int(now))
redis.call('PEXPIRE', instance_key, ttl_ms)
redis.call('ZADD', instances_key, now + tonumber(ttl_ms), instance_id)
redis.call('ZREMRANGEBYSCORE', instances_key, '-inf', now)
return 'ok'
