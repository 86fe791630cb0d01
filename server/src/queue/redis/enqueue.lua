-- Creates a job for `client`, or (with an idempotency key) returns the job the key already
-- names. `idempotency_key` is unused without a key; `unfinished_key` is the client's set of
-- unfinished job ids. Returns {'created'|'existing', HGETALL...}, {'conflict'} or {'too_many'}.
if has_idempotency_key == '1' then
  local existing = redis.call('GET', idempotency_key)
  if existing then
    local existing_key = prefix .. 'job:' .. existing
    local files = redis.call('HGET', existing_key, 'fileIds')
    if files then
      if files ~= file_ids then
        return {'conflict'}
      end
      local reply = {'existing'}
      for _, v in ipairs(record(existing_key)) do table.insert(reply, v) end
      return reply
    end
  end
end
-- The cap counts the client's jobs that are really unfinished: an id whose record finished or
-- expired without leaving the set (written by an older Ferry, say) is dropped here, so the
-- count heals itself instead of refusing the client for good.
if redis.call('SCARD', unfinished_key) >= tonumber(max_unfinished) then
  for _, id in ipairs(redis.call('SMEMBERS', unfinished_key)) do
    local phase = redis.call('HGET', prefix .. 'job:' .. id, 'phase')
    if phase ~= 'queued' and phase ~= 'processing' and phase ~= 'retrying' then
      redis.call('SREM', unfinished_key, id)
    end
  end
  if redis.call('SCARD', unfinished_key) >= tonumber(max_unfinished) then
    return {'too_many'}
  end
end
local now = now_ms()
redis.call('HSET', job_key, 'id', job_id, 'client', client, 'fileIds', file_ids,
  'params', origin_params, 'phase', 'queued', 'progress', '0', 'attempt', '1',
  'maxAttempts', max_attempts, 'createdAt', int(now))
-- The trace the job belongs to ('' when traces are off: no field, no command).
if trace_parent ~= '' then
  redis.call('HSET', job_key, 'trace', trace_parent)
end
redis.call('SADD', unfinished_key, job_id)
if has_idempotency_key == '1' then
  redis.call('SET', idempotency_key, job_id)
  redis.call('HSET', job_key, 'idem', scoped_key)
end
wait_back(prefix, client, job_id)
index_phase(prefix, job_id, nil, 'queued', now)
-- One wake-up per job for workers blocked on the list; capped so it cannot grow unbounded.
redis.call('RPUSH', wake_key, job_id)
redis.call('LTRIM', wake_key, -1000, -1)
local reply = {'created'}
for _, v in ipairs(record(job_key)) do table.insert(reply, v) end
return reply
