-- KEYS: turns list, new job hash, idempotency key (unused without a key), wake-up list,
--       unfinished-per-client hash
-- ARGV: prefix, job id, file ids, origin params, max attempts, has idempotency key ('1'/'0'),
--       scoped key (client#key), client, max unfinished jobs per client
-- Returns {'created'|'existing', HGETALL...}, {'conflict'} or {'too_many'}.
local prefix = ARGV[1]
if ARGV[6] == '1' then
  local existing = redis.call('GET', KEYS[3])
  if existing then
    local existing_key = prefix .. 'job:' .. existing
    local files = redis.call('HGET', existing_key, 'fileIds')
    if files then
      if files ~= ARGV[3] then
        return {'conflict'}
      end
      local reply = {'existing'}
      for _, v in ipairs(record(existing_key)) do table.insert(reply, v) end
      return reply
    end
  end
end
local client = ARGV[8]
if tonumber(redis.call('HGET', KEYS[5], client) or '0') >= tonumber(ARGV[9]) then
  return {'too_many'}
end
local now = now_ms()
redis.call('HSET', KEYS[2], 'id', ARGV[2], 'client', client, 'fileIds', ARGV[3], 'params', ARGV[4],
  'phase', 'queued', 'progress', '0', 'attempt', '1', 'maxAttempts', ARGV[5], 'createdAt', int(now))
redis.call('HINCRBY', KEYS[5], client, 1)
if ARGV[6] == '1' then
  redis.call('SET', KEYS[3], ARGV[2])
  redis.call('HSET', KEYS[2], 'idem', ARGV[7])
end
wait_back(prefix, client, ARGV[2])
-- One wake-up per job for workers blocked on the list; capped so it cannot grow unbounded.
redis.call('RPUSH', KEYS[4], ARGV[2])
redis.call('LTRIM', KEYS[4], -1000, -1)
local reply = {'created'}
for _, v in ipairs(record(KEYS[2])) do table.insert(reply, v) end
return reply
