-- KEYS: job hash, active set
-- ARGV: job id, token, percent, lease ttl ms, bytes done, bytes total ('' when unknown), files done
-- Records progress and extends the lease, for the lease holder only. Returns 'ok' or 'lost'.
if not holds(KEYS[1], ARGV[2]) then return 'lost' end
local deadline = now_ms() + tonumber(ARGV[4])
redis.call('HSET', KEYS[1], 'progress', ARGV[3], 'leaseDeadline', int(deadline),
  'bytesDone', ARGV[5], 'filesDone', ARGV[7])
if ARGV[6] == '' then
  redis.call('HDEL', KEYS[1], 'bytesTotal')
else
  redis.call('HSET', KEYS[1], 'bytesTotal', ARGV[6])
end
redis.call('ZADD', KEYS[2], deadline, ARGV[1])
return 'ok'
