-- The instances alive now: for each, the fields of its hash as one flat list, each list
-- preceded by its length. Drops the registry's entries whose deadline has passed.
redis.call('ZREMRANGEBYSCORE', instances_key, '-inf', now_ms())
local reply = {}
for _, id in ipairs(redis.call('ZRANGE', instances_key, 0, -1)) do
  local fields = redis.call('HGETALL', prefix .. 'instance:' .. id)
  if #fields > 0 then
    table.insert(reply, tostring(#fields))
    for _, v in ipairs(fields) do table.insert(reply, v) end
  end
end
return reply
