-- Gives a held job back to the front of the line without using an attempt. Returns 'ok'/'lost'.
if not holds(job_key, token) then return 'lost' end
redis.call('ZREM', active_key, job_id)
attempt_ended(prefix, job_id, 'released', now_ms())
index_queued(prefix, job_key, job_id, 'processing')
redis.call('HSET', job_key, 'phase', 'queued')
reset_progress(job_key)
redis.call('HDEL', job_key, 'token', 'leaseDeadline', 'startedAt')
wait_front(prefix, client_of(job_key), job_id)
return 'ok'
