-- Extends every lease still held (job id and token pairs follow the named arguments); returns the
-- ids of the others (their holders must stop).
local deadline = now_ms() + tonumber(lease_ms)
local lost = {}
for i = arg_index + 1, #ARGV, 2 do
  local id, token = ARGV[i], ARGV[i + 1]
  local job_key = prefix .. 'job:' .. id
  if holds(job_key, token) then
    redis.call('HSET', job_key, 'leaseDeadline', int(deadline))
    redis.call('ZADD', active_key, deadline, id)
  else
    table.insert(lost, id)
  end
end
return lost
