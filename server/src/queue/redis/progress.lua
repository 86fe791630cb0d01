-- Records progress and extends the lease, for the lease holder only (`bytes_total` is '' when
-- unknown). Returns 'ok' or 'lost'.
if not holds(job_key, token) then return 'lost' end
local deadline = now_ms() + tonumber(lease_ms)
redis.call('HSET', job_key, 'progress', percent, 'leaseDeadline', int(deadline),
  'bytesDone', bytes_done, 'filesDone', files_done)
if bytes_total == '' then
  redis.call('HDEL', job_key, 'bytesTotal')
else
  redis.call('HSET', job_key, 'bytesTotal', bytes_total)
end
redis.call('ZADD', active_key, deadline, job_id)
return 'ok'
