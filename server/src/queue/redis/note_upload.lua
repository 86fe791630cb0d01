-- Remembers (or forgets, with an empty `upload_id`) the holder's unfinished upload, for the lease
-- holder only, so the next attempt can abort it if this one dies. Returns 'ok' or 'lost'.
if not holds(job_key, token) then return 'lost' end
if upload_id == '' then
  redis.call('HDEL', job_key, 'upload', 'uploadKey')
else
  redis.call('HSET', job_key, 'upload', upload_id, 'uploadKey', upload_key)
end
return 'ok'
