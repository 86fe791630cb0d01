-- Removes a finished job's record, and its idempotency key while that still names the job.
-- Returns 'ok', 'not_found' or 'phase:<phase>' for an unfinished job (cancel it first).
local f = redis.call('HMGET', job_key, 'phase', 'idem')
if not f[1] then return 'not_found' end
if f[1] ~= 'completed' and f[1] ~= 'failed' and f[1] ~= 'cancelled' then
  return 'phase:' .. f[1]
end
if f[2] then
  local idem_key = prefix .. 'idem:' .. f[2]
  if redis.call('GET', idem_key) == job_id then redis.call('DEL', idem_key) end
end
redis.call('DEL', job_key, prefix .. 'attempts:' .. job_id)
index_phase(prefix, job_id, f[1], nil)
return 'ok'
