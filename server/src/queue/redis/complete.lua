-- KEYS: job hash, active set
-- ARGV: prefix, job id, token, result key, result size, result retention ms,
--       expired-record retention ms
-- Marks the job completed, for the lease holder only. Returns 'ok' or 'lost'.
if not holds(KEYS[1], ARGV[3]) then return 'lost' end
complete_job(ARGV[1], KEYS[1], KEYS[2], ARGV[2], ARGV[4], ARGV[5], now_ms(), ARGV[6], ARGV[7])
return 'ok'
