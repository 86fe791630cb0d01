-- KEYS: turns list, active set (by lease deadline), delayed set (by next attempt time)
-- ARGV: prefix, lease ttl ms, failed-record retention ms, max jobs, the error recorded on a job
--       taken back from a worker that stopped renewing, then one fresh token per job
-- Returns what claim_jobs returns.
return claim_jobs(ARGV[1], KEYS[2], KEYS[3], tonumber(ARGV[2]), ARGV[3],
  tonumber(ARGV[4]), 6, now_ms(), ARGV[5])
