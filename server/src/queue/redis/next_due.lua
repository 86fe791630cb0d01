-- Returns the milliseconds until the earliest lease deadline or retry time (0 when one is already
-- due), or -1 when there is neither: how long an idle worker may sleep before a claim has work.
local now = now_ms()
local earliest = -1
for _, key in ipairs({active_key, delayed_key}) do
  local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  if #first == 2 then
    local at = tonumber(first[2])
    if earliest < 0 or at < earliest then earliest = at end
  end
end
if earliest < 0 then return -1 end
return math.max(0, earliest - now)
