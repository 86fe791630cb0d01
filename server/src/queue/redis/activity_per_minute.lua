-- The last `minutes` minutes, oldest first, up to the current one (by Redis' clock): per minute
-- its start (ms), the jobs that completed, failed and were cancelled in it, and its last depth
-- sample (waiting and processing jobs; -1 when no instance sampled it).
local this_minute = math.floor(now_ms() / 60000)
local reply = {}
for minute = this_minute - tonumber(minutes) + 1, this_minute do
  local f = redis.call('HMGET', prefix .. 'minute:' .. int(minute), 'completed', 'failed', 'cancelled',
    'waiting', 'processing')
  table.insert(reply, int(minute * 60000))
  for i = 1, 3 do table.insert(reply, f[i] or '0') end
  for i = 4, 5 do table.insert(reply, f[i] or '-1') end
end
return reply
