-- KEYS: job hash, turns list, active set, delayed set
-- ARGV: prefix, job id, retention ms
-- Cancels an unfinished job (its holder, if any, loses the lease). Returns 'ok', 'not_found',
-- or 'finished:<phase>' for a job already in a terminal phase ('expired' for a completed one
-- whose result is gone).
local phase = redis.call('HGET', KEYS[1], 'phase')
if not phase then return 'not_found' end
if phase == 'completed' then
  -- A completed job whose result is gone reads as expired (as status reports it).
  local result_expires_at = tonumber(redis.call('HGET', KEYS[1], 'resultExpiresAt'))
  if result_expires_at and result_expires_at <= now_ms() then return 'finished:expired' end
end
if phase == 'completed' or phase == 'failed' or phase == 'cancelled' then
  return 'finished:' .. phase
end
wait_remove(ARGV[1], client_of(KEYS[1]), ARGV[2])
redis.call('ZREM', KEYS[3], ARGV[2])
redis.call('ZREM', KEYS[4], ARGV[2])
finish(ARGV[1], KEYS[1], 'cancelled', now_ms(), ARGV[3])
return 'ok'
