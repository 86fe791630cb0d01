-- Marks the job completed, for the lease holder only. Returns 'ok' or 'lost'.
if not holds(job_key, token) then return 'lost' end
complete_job(prefix, job_key, active_key, job_id, result_key, result_size, now_ms(),
  result_retention_ms, expired_retention_ms)
return 'ok'
