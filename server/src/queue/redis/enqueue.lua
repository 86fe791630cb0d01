-- KEYS: turns list, new job hash, idempotency key (unused without a key), wake-up list,
--       the client's unfinished jobs (a set of ids)
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
-- The cap counts the client's jobs that are really unfinished: an id whose record finished or
-- expired without leaving the set (written by an older Ferry, say) is dropped here, so the
-- count heals itself instead of refusing the client for good.
if redis.call('SCARD', KEYS[5]) >= tonumber(ARGV[9]) then
  for _, id in ipairs(redis.call('SMEMBERS', KEYS[5])) do
    local phase = redis.call('HGET', prefix .. 'job:' .. id, 'phase')
    if phase ~= 'queued' and phase ~= 'processing' and phase ~= 'retrying' then
      redis.call('SREM', KEYS[5], id)
    end
  end
  if redis.call('SCARD', KEYS[5]) >= tonumber(ARGV[9]) then
    return {'too_many'}
  end
end
local now = now_ms()
redis.call('HSET', KEYS[2], 'id', ARGV[2], 'client', client, 'fileIds', ARGV[3], 'params', ARGV[4],
  'phase', 'queued', 'progress', '0', 'attempt', '1', 'maxAttempts', ARGV[5], 'createdAt', int(now))
redis.call('SADD', KEYS[5], ARGV[2])
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
