-- Shared by claim.lua and complete_claim.lua (prepended after the prelude).
-- Promotes due retries, takes back jobs whose lease expired, then leases up to `max` waiting jobs,
-- clients in turn, with the tokens `tokens[1]`, `tokens[2]`, ...
-- `retention_ms` is how long a job that runs out of attempts here keeps its failed record;
-- `reclaimed_error` is what such a job's record says went wrong; `worker` (the instance) and
-- `attempts_kept` are what each claimed job's attempt history records and keeps.
-- Returns the number of expired leases taken back, then per claimed job: id, token, file ids,
-- origin params, attempt, max attempts, the upload an earlier attempt left unfinished with its
-- key ('' and '' if none), and the job's trace parent ('' if none).
local function claim_jobs(prefix, active_key, delayed_key, lease_ms, retention_ms, max, tokens, now,
    reclaimed_error, worker, attempts_kept)
  -- Jobs an instance of an older Ferry queued in the single line {p}:wait join their clients'
  -- lines (a rolling upgrade loses none).
  local legacy = prefix .. 'wait'
  while true do
    local id = redis.call('LPOP', legacy)
    if not id then break end
    wait_back(prefix, client_of(prefix .. 'job:' .. id), id)
  end

  -- Retries whose time has come join the back of their client's line.
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', delayed_key, '-inf', now)) do
    redis.call('ZREM', delayed_key, id)
    local job_key = prefix .. 'job:' .. id
    redis.call('HSET', job_key, 'phase', 'queued')
    redis.call('HDEL', job_key, 'nextAttemptAt')
    index_queued(prefix, job_key, id, 'retrying')
    wait_back(prefix, client_of(job_key), id)
  end

  -- Jobs whose holder stopped renewing run again as their next attempt, first in line.
  local expired = redis.call('ZRANGEBYSCORE', active_key, '-inf', now)
  for i = #expired, 1, -1 do
    local id = expired[i]
    redis.call('ZREM', active_key, id)
    local job_key = prefix .. 'job:' .. id
    local f = redis.call('HMGET', job_key, 'attempt', 'maxAttempts')
    redis.call('HDEL', job_key, 'token', 'leaseDeadline', 'startedAt')
    reset_progress(job_key)
    redis.call('HSET', job_key, 'error', reclaimed_error)
    attempt_ended(prefix, id, 'leaseExpired', now, reclaimed_error)
    if tonumber(f[1]) < tonumber(f[2]) then
      redis.call('HSET', job_key, 'attempt', int(tonumber(f[1]) + 1), 'phase', 'queued')
      index_queued(prefix, job_key, id, 'processing')
      wait_front(prefix, client_of(job_key), id)
    else
      finish(prefix, job_key, 'failed', now, retention_ms)
    end
  end

  local claimed = {tostring(#expired)}
  local taken = 0
  -- A paused queue (the console's pause) hands out nothing; the bookkeeping above still runs.
  if redis.call('EXISTS', prefix .. 'paused') == 1 then max = 0 end
  while taken < max do
    local id = wait_pop(prefix)
    if not id then break end
    local job_key = prefix .. 'job:' .. id
    local f = redis.call('HMGET', job_key, 'phase', 'fileIds', 'params', 'attempt', 'maxAttempts',
      'upload', 'uploadKey', 'trace', 'firstStartedAt')
    -- A line may hold an id that is no longer queued (cancelled by an older Ferry, which only
    -- knew the single line): skip it without spending one of the `max` claims.
    if f[1] == 'queued' then
      taken = taken + 1
      local token = tokens[taken]
      local deadline = now + lease_ms
      local lease = {'phase', 'processing', 'startedAt', int(now), 'token', token,
        'leaseDeadline', int(deadline)}
      if not f[9] then
        table.insert(lease, 'firstStartedAt')
        table.insert(lease, int(now))
      end
      reset_progress(job_key, lease)
      redis.call('ZADD', active_key, deadline, id)
      index_phase(prefix, id, 'queued', 'processing', now)
      attempt_started(prefix, id, f[4], worker, attempts_kept, now)
      for _, v in ipairs({id, token, f[2], f[3], f[4], f[5], f[6] or '', f[7] or '', f[8] or ''}) do
        table.insert(claimed, v)
      end
    end
  end
  return claimed
end
