-- Shared by every Ferry queue script (prepended to each). Every timestamp comes from the Redis
-- server's clock, so app hosts with skewed clocks still agree on deadlines.
-- Numbers are written with int() so they are stored and returned as plain integers.

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

-- Puts a job in a terminal phase and starts its retention clock, for its idempotency key too.
-- The caller has already taken the job out of the wait list and the active/delayed sets.
local function finish(prefix, job_key, phase, now, retention_ms)
  redis.call('HSET', job_key, 'phase', phase, 'finishedAt', int(now))
  redis.call('HDEL', job_key, 'token', 'leaseDeadline', 'nextAttemptAt')
  redis.call('PEXPIRE', job_key, retention_ms)
  local idem = redis.call('HGET', job_key, 'idem')
  if idem then
    redis.call('PEXPIRE', prefix .. 'idem:' .. idem, retention_ms)
  end
end

-- Marks a held job completed with its archive (and forgets any noted upload): the body of
-- complete.lua and complete_claim.lua. The caller has checked the lease with holds().
local function complete_job(prefix, job_key, active_key, id, result_key, result_size, now, retention_ms)
  redis.call('ZREM', active_key, id)
  redis.call('HSET', job_key, 'progress', '100', 'resultKey', result_key, 'resultSize', result_size)
  redis.call('HDEL', job_key, 'error', 'upload')
  finish(prefix, job_key, 'completed', now, retention_ms)
end

-- A new attempt starts from nothing: no percent, no bytes, no files.
local function reset_progress(job_key)
  redis.call('HSET', job_key, 'progress', '0')
  redis.call('HDEL', job_key, 'bytesDone', 'bytesTotal', 'filesDone')
end

local function record(job_key)
  return redis.call('HGETALL', job_key)
end
