-- KEYS: job hash
-- ARGV: token, multipart upload id ('' when the upload is over), its storage key
-- Remembers (or forgets) the holder's unfinished upload, for the lease holder only, so the next
-- attempt can abort it if this one dies. Returns 'ok' or 'lost'.
if not holds(KEYS[1], ARGV[1]) then return 'lost' end
if ARGV[2] == '' then
  redis.call('HDEL', KEYS[1], 'upload', 'uploadKey')
else
  redis.call('HSET', KEYS[1], 'upload', ARGV[2], 'uploadKey', ARGV[3])
end
return 'ok'
