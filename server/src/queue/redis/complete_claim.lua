-- KEYS: job hash, turns list, active set, delayed set
-- ARGV: prefix, job id, token, result key, result size, result retention ms,
--       lease ttl ms, fresh token, failed-record retention ms, expired-record retention ms,
--       the error recorded on a job taken back from a worker that stopped renewing
-- Marks the job completed for the lease holder, then claims the next waiting job in the same
-- step: a busy worker's one round trip per job. Returns {'lost'}, or 'ok' followed by what
-- claim_jobs returns.
if not holds(KEYS[1], ARGV[3]) then return {'lost'} end
local now = now_ms()
complete_job(ARGV[1], KEYS[1], KEYS[3], ARGV[2], ARGV[4], ARGV[5], now, ARGV[6], ARGV[10])
local reply = claim_jobs(ARGV[1], KEYS[3], KEYS[4], tonumber(ARGV[7]), ARGV[9], 1, 8, now, ARGV[11])
table.insert(reply, 1, 'ok')
return reply
