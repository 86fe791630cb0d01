-- KEYS: turns list, active set (by lease deadline), delayed set (by next attempt time)
-- ARGV: prefix, lease ttl ms, failed-record retention ms, max jobs, then one fresh token per job
-- Returns what claim_jobs returns.
return claim_jobs(ARGV[1], KEYS[2], KEYS[3], tonumber(ARGV[2]), ARGV[3],
  tonumber(ARGV[4]), 5, now_ms())
