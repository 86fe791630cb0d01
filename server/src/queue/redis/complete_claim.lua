-- Marks the job completed for the lease holder, then claims the next waiting job in the same
-- step (leased with `fresh_token`): a busy worker's one round trip per job. Returns {'lost'}, or
-- 'ok' followed by what claim_jobs returns.
if not holds(job_key, token) then return {'lost'} end
local now = now_ms()
complete_job(prefix, job_key, active_key, job_id, result_key, result_size, now,
  result_retention_ms, expired_retention_ms)
local reply = claim_jobs(prefix, active_key, delayed_key, tonumber(lease_ms), retention_ms, 1,
  {fresh_token}, now, reclaimed_error, worker, attempts_kept)
table.insert(reply, 1, 'ok')
return reply
