-- KEYS: active set
-- ARGV: prefix, lease ttl ms, then job id and token pairs
-- Extends every lease still held; returns the ids of the others (their holders must stop).
local prefix = ARGV[1]
local deadline = now_ms() + tonumber(ARGV[2])
local lost = {}
for i = 3, #ARGV, 2 do
  local id, token = ARGV[i], ARGV[i + 1]
  local job_key = prefix .. 'job:' .. id
  if holds(job_key, token) then
    redis.call('HSET', job_key, 'leaseDeadline', int(deadline))
    redis.call('ZADD', KEYS[1], deadline, id)
  else
    table.insert(lost, id)
  end
end
return lost
