-- Shared by every Ferry queue script (prepended to each). Every timestamp comes from the Redis
-- server's clock, so app hosts with skewed clocks still agree on deadlines.
-- Numbers are written with int() so they are stored and returned as plain integers.

-- KEYS and ARGV by name: each script's header (generated from its declaration in scripts.rs)
-- takes them in declaration order, so positions are written in one place.
local key_index, arg_index = 0, 0
local function take_key()
  key_index = key_index + 1
  return KEYS[key_index]
end
local function take_arg()
  arg_index = arg_index + 1
  return ARGV[arg_index]
end

local function int(x)
  return string.format('%d', x)
end

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- True when `token` is the lease of a processing job: the fencing check of every worker write.
local function holds(job_key, token)
  local f = redis.call('HMGET', job_key, 'phase', 'token')
  return f[1] == 'processing' and f[2] == token
end

-- The waiting line, fair across clients: each client's claimable jobs wait in its own list
-- {p}:wait:<client>, oldest first; {p}:turns lists each client with waiting jobs once, the next
-- to be served first; {p}:waiting counts the jobs in all lines.
-- `push` is RPUSH (a new job: back of its line; a new line takes the last turn) or LPUSH (a
-- released or taken-back job goes first: front of its line; a new line takes the next turn).
local function wait_push(push, prefix, client, id)
  if redis.call(push, prefix .. 'wait:' .. client, id) == 1 then
    redis.call(push, prefix .. 'turns', client)
  end
  redis.call('INCR', prefix .. 'waiting')
end

local function wait_back(prefix, client, id)
  wait_push('RPUSH', prefix, client, id)
end

local function wait_front(prefix, client, id)
  wait_push('LPUSH', prefix, client, id)
end

-- Counts `n` jobs out of {p}:waiting; a count of zero leaves no key behind.
local function uncount_waiting(prefix, n)
  if redis.call('DECRBY', prefix .. 'waiting', n) <= 0 then
    redis.call('DEL', prefix .. 'waiting')
  end
end

-- The front job of the line whose turn it is; that client's turn moves to the back if more of
-- its jobs wait. Nil when nothing waits.
local function wait_pop(prefix)
  while true do
    local client = redis.call('LPOP', prefix .. 'turns')
    if not client then return nil end
    local line = prefix .. 'wait:' .. client
    local id = redis.call('LPOP', line)
    if redis.call('LLEN', line) > 0 then
      redis.call('RPUSH', prefix .. 'turns', client)
    end
    if id then
      uncount_waiting(prefix, 1)
      return id
    end
  end
end

-- Takes a job out of its client's line (it was cancelled).
local function wait_remove(prefix, client, id)
  local line = prefix .. 'wait:' .. client
  local removed = redis.call('LREM', line, 0, id)
  if removed > 0 then
    uncount_waiting(prefix, removed)
    if redis.call('LLEN', line) == 0 then
      redis.call('LREM', prefix .. 'turns', 0, client)
    end
  end
end

-- The client a job belongs to ('' for records written before jobs had one).
local function client_of(job_key)
  return redis.call('HGET', job_key, 'client') or ''
end

-- The console's job list: {p}:state:<phase> holds the jobs in each stored phase, scored as
-- queue::listed_at places them (queued by creation, processing by the attempt's start, retrying by
-- the next attempt's time, finished by finishing). `from` or `to` nil: not in an index before or
-- after.
local function index_phase(prefix, id, from, to, score)
  if from then redis.call('ZREM', prefix .. 'state:' .. from, id) end
  if to then redis.call('ZADD', prefix .. 'state:' .. to, score, id) end
end

-- A job back in its client's line: listed among the queued by its creation.
local function index_queued(prefix, job_key, id, from)
  index_phase(prefix, id, from, 'queued', redis.call('HGET', job_key, 'createdAt'))
end

-- Each job's attempts, {p}:attempts:<id>: a list of JSON entries, one per attempt (the last
-- `kept`, queue::ATTEMPTS_KEPT), written when the attempt starts and completed when it ends.
local function attempt_started(prefix, id, number, worker, kept, now)
  local key = prefix .. 'attempts:' .. id
  local length = redis.call('RPUSH', key, cjson.encode({number = tonumber(number),
    worker = worker, startedAt = now}))
  if length > tonumber(kept) then redis.call('LTRIM', key, -tonumber(kept), -1) end
end

-- How the running attempt ended ('completed', 'failed', 'leaseExpired', 'released',
-- 'cancelled'); an attempt that has ended stays as it is.
local function attempt_ended(prefix, id, outcome, now, error_message)
  local key = prefix .. 'attempts:' .. id
  local last = redis.call('LINDEX', key, -1)
  if not last then return end
  local entry = cjson.decode(last)
  if entry.endedAt then return end
  entry.endedAt = now
  entry.outcome = outcome
  entry.error = error_message
  redis.call('LSET', key, -1, cjson.encode(entry))
end

-- Puts a job in a terminal phase and starts its retention clock, and its idempotency key's
-- (idem_retention_ms, or retention_ms when absent), and takes it out of its client's unfinished
-- jobs ({p}:unfinished:<client>, a set of ids). The caller has already taken the job out of the
-- waiting line and the active/delayed sets. `set` and `unset` (optional) are more fields to
-- write and to remove with the phase, in the same commands.
local function finish(prefix, job_key, phase, now, retention_ms, idem_retention_ms, set, unset)
  local f = redis.call('HMGET', job_key, 'id', 'phase', 'idem', 'client')
  local id, idem, client = f[1], f[3], f[4] or ''
  -- The console's throughput: finished jobs per minute and phase, each minute kept two hours
  -- (set when the minute's first count is written: a count of 1 is always the first).
  local minute_key = prefix .. 'minute:' .. int(math.floor(now / 60000))
  if redis.call('HINCRBY', minute_key, phase, 1) == 1 then
    redis.call('EXPIRE', minute_key, 7200)
  end
  -- Listed among its phase until its record expires: older entries of the phase have expired,
  -- and the whole index goes when no job has finished so for a retention period.
  local index = prefix .. 'state:' .. phase
  index_phase(prefix, id, f[2], phase, now)
  redis.call('ZREMRANGEBYSCORE', index, '-inf', '(' .. int(now - tonumber(retention_ms)))
  redis.call('PEXPIRE', index, retention_ms)
  if phase == 'cancelled' then attempt_ended(prefix, id, 'cancelled', now) end
  redis.call('PEXPIRE', prefix .. 'attempts:' .. id, retention_ms)
  local fields = {'phase', phase, 'finishedAt', int(now)}
  for _, v in ipairs(set or {}) do table.insert(fields, v) end
  redis.call('HSET', job_key, unpack(fields))
  local gone = {'token', 'leaseDeadline', 'nextAttemptAt'}
  for _, v in ipairs(unset or {}) do table.insert(gone, v) end
  redis.call('HDEL', job_key, unpack(gone))
  redis.call('PEXPIRE', job_key, retention_ms)
  if idem then
    redis.call('PEXPIRE', prefix .. 'idem:' .. idem, idem_retention_ms or retention_ms)
  end
  redis.call('SREM', prefix .. 'unfinished:' .. client, id)
end

-- Marks a held job completed with its archive (and forgets any noted upload): the body of
-- complete.lua and complete_claim.lua. The caller has checked the lease with holds(). The
-- result (and the idempotency key) lasts result_ms; the record, reading as expired after that,
-- expired_ms more.
local function complete_job(prefix, job_key, active_key, id, result_key, result_size, now, result_ms, expired_ms)
  result_ms = tonumber(result_ms)
  redis.call('ZREM', active_key, id)
  attempt_ended(prefix, id, 'completed', now)
  finish(prefix, job_key, 'completed', now, result_ms + tonumber(expired_ms), result_ms,
    {'progress', '100', 'resultKey', result_key, 'resultSize', result_size,
      'resultExpiresAt', int(now + result_ms)},
    {'error', 'upload', 'uploadKey'})
end

-- A new attempt starts from nothing: no percent, no bytes, no files. `set` (optional) are more
-- fields to write in the same command.
local function reset_progress(job_key, set)
  local fields = {'progress', '0'}
  for _, v in ipairs(set or {}) do table.insert(fields, v) end
  redis.call('HSET', job_key, unpack(fields))
  redis.call('HDEL', job_key, 'bytesDone', 'bytesTotal', 'filesDone')
end

local function record(job_key)
  return redis.call('HGETALL', job_key)
end
