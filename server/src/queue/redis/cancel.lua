-- Cancels an unfinished job (its holder, if any, loses the lease). Returns 'ok', 'not_found',
-- or 'finished:<phase>' for a job already in a terminal phase ('expired' for a completed one
-- whose result is gone).
local phase = redis.call('HGET', job_key, 'phase')
if not phase then return 'not_found' end
if phase == 'completed' then
  -- A completed job whose result is gone reads as expired (as status reports it).
  local result_expires_at = tonumber(redis.call('HGET', job_key, 'resultExpiresAt'))
  if result_expires_at and result_expires_at <= now_ms() then return 'finished:expired' end
end
if phase == 'completed' or phase == 'failed' or phase == 'cancelled' then
  return 'finished:' .. phase
end
wait_remove(prefix, client_of(job_key), job_id)
redis.call('ZREM', active_key, job_id)
redis.call('ZREM', delayed_key, job_id)
finish(prefix, job_key, 'cancelled', now_ms(), retention_ms)
return 'ok'
