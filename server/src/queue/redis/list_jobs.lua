-- One page of the console's job list: the jobs of `phases` (comma-separated stored phases;
-- 'completed' reads the completed index for the jobs whose result is still there, 'expired' for
-- those whose result is gone, 'completed+expired' for both) newest first by (score, id), after the cursor (`after_score` and `after_id`; '' for
-- the start), of `client` and with `file_id` among their files ('' for any), at most `limit`.
-- Each index is read for at most `budget` entries past the cursor, so a rare match cannot block
-- Redis; ids whose record has expired, or whose record is in another phase (an older Ferry moved
-- it without its indexes), are dropped from the index on the way.
-- Returns {next_score, next_id, now, {HGETALL of each job}}: '' and '' when no more jobs match;
-- `now` is the clock the completed and expired jobs were told apart by.
local now = now_ms()
limit = tonumber(limit)
budget = tonumber(budget)
local cursor = nil
if after_score ~= '' then cursor = {tonumber(after_score), after_id} end

-- True when entry a comes before entry b in the list (newer: higher score, then higher id).
local function before(a, b)
  return a[1] > b[1] or (a[1] == b[1] and a[2] > b[2])
end

local function matches(phase, f)
  if client ~= '' and f[1] ~= client then return false end
  if file_id ~= '' and not string.find(',' .. f[2] .. ',', ',' .. file_id .. ',', 1, true) then
    return false
  end
  if phase == 'completed' or phase == 'expired' then
    -- Read as status reads it: the result's end has passed.
    local gone = f[3] and tonumber(f[3]) <= now
    if (phase == 'expired') ~= (gone and true or false) then return false end
  end
  return true
end

local found = {}
-- The latest place at which an index was read to its budget without filling the page: entries
-- after it are unknown, so the page ends there.
local frontier = nil
for phase in string.gmatch(phases, '[^,]+') do
  local stored = phase
  if phase == 'expired' or phase == 'completed+expired' then stored = 'completed' end
  local index = prefix .. 'state:' .. stored
  local max = cursor and int(cursor[1]) or '+inf'
  local offset, scanned, matched, stopped, reached = 0, 0, 0, nil, nil
  while not stopped do
    local batch = redis.call('ZREVRANGEBYSCORE', index, max, '-inf', 'WITHSCORES', 'LIMIT', offset, 100)
    if #batch == 0 then break end
    offset = offset + #batch / 2
    for i = 1, #batch, 2 do
      local entry = {tonumber(batch[i + 1]), batch[i]}
      if not cursor or before(cursor, entry) then
        scanned = scanned + 1
        local f = redis.call('HMGET', prefix .. 'job:' .. entry[2], 'client', 'fileIds',
          'resultExpiresAt', 'phase')
        if not f[2] or f[4] ~= stored then
          redis.call('ZREM', index, entry[2])
          offset = offset - 1
        elseif matches(phase, f) then
          table.insert(found, entry)
          matched = matched + 1
        end
        -- One more than a page tells whether another page follows.
        if matched > limit then stopped = 'full' break end
        if scanned >= budget then
          stopped, reached = 'budget', entry
          break
        end
      end
    end
  end
  -- The page ends at the newest such place: past it, that index was not read.
  if reached and (not frontier or before(reached, frontier)) then frontier = reached end
end

table.sort(found, before)
local page = {}
local more = frontier ~= nil
for _, entry in ipairs(found) do
  if frontier and before(frontier, entry) then break end
  if #page == limit then more = true break end
  table.insert(page, entry)
end
local next_score, next_id = '', ''
if more then
  -- A full page ends at its last job; a short one where an index's budget ran out.
  local last = page[#page]
  if #page < limit then last = frontier end
  next_score, next_id = int(last[1]), last[2]
end
local jobs = {}
for _, entry in ipairs(page) do
  table.insert(jobs, redis.call('HGETALL', prefix .. 'job:' .. entry[2]))
end
return {next_score, next_id, int(now), jobs}
