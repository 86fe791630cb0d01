-- Leases up to `max` waiting jobs with the fresh tokens that follow the named arguments.
-- Returns what claim_jobs returns.
local tokens = {}
for i = arg_index + 1, #ARGV do table.insert(tokens, ARGV[i]) end
return claim_jobs(prefix, active_key, delayed_key, tonumber(lease_ms), retention_ms,
  tonumber(max), tokens, now_ms(), reclaimed_error, worker, attempts_kept)
