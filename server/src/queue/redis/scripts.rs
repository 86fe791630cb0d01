//! The queue's Lua scripts, each declared once with its KEYS and ARGV by name.
//!
//! A declaration below generates a struct whose fields are the script's keys and arguments, and
//! a Lua header that binds the same names in the same order (`local job_key = take_key()`), put
//! before the script's body. A call site fills the struct by name and the script reads the
//! names, so no position is written twice: adding, removing or reordering an argument is one
//! edit here. Arguments a script takes in any number (claim's fresh tokens, renew's leases)
//! follow the named ones and are pushed by the caller; the script finds them from
//! `arg_index + 1`.

use redis::{Script, ScriptInvocation, ToRedisArgs};

/// A key or argument of a script: anything redis-rs can send.
pub(super) trait ScriptArg: Sync {
    /// The value as the Redis protocol arguments it is sent as.
    fn parts(&self) -> Vec<Vec<u8>>;
}

impl<T: ToRedisArgs + Sync> ScriptArg for T {
    fn parts(&self) -> Vec<Vec<u8>> {
        self.to_redis_args()
    }
}

/// Declares each script: its struct (keys, then arguments, as fields), its source (the flags
/// line if any, the shared prelude, the header binding the names, then its files).
macro_rules! scripts {
    ($(
        $(#[doc = $doc:literal])+
        $field:ident: $name:ident $([$flag:ident])? from $($file:literal),+;
            keys { $($key:ident),* $(,)? }
            args { $($arg:ident),* $(,)? }
    )+) => {$(
        $(#[doc = $doc])+
        pub(super) struct $name<'a> {
            $(pub $key: &'a dyn ScriptArg,)*
            $(pub $arg: &'a dyn ScriptArg,)*
        }

        impl $name<'_> {
            /// The script as Redis runs it.
            pub const SOURCE: &'static str = concat!(
                $(flags!($flag),)?
                include_str!("prelude.lua"),
                "\n-- Generated from scripts.rs: the keys and arguments by name.\n",
                $("local ", stringify!($key), " = take_key()\n",)*
                $("local ", stringify!($arg), " = take_arg()\n",)*
                $("\n", include_str!($file),)+
            );

            /// The invocation of `script` (built from [`Self::SOURCE`]) with these values.
            pub fn invocation<'s>(&self, script: &'s Script) -> ScriptInvocation<'s> {
                let mut invocation = script.prepare_invoke();
                let keys: &[&dyn ScriptArg] = &[$(self.$key),*];
                let args: &[&dyn ScriptArg] = &[$(self.$arg),*];
                for part in keys.iter().flat_map(|key| key.parts()) {
                    invocation.key(part);
                }
                for part in args.iter().flat_map(|arg| arg.parts()) {
                    invocation.arg(part);
                }
                invocation
            }
        }
    )+

        /// Every script, loaded once per process (redis-rs sends `EVALSHA`, loading on
        /// `NOSCRIPT`).
        pub(super) struct Scripts {
            $(pub $field: Script,)+
        }

        impl Scripts {
            pub fn load() -> Self {
                Self { $($field: Script::new($name::SOURCE),)+ }
            }
        }
    };
}

/// A script marked `[allow_oom]` runs even when Redis is out of memory (see the module docs of
/// `queue::redis`): everything but enqueue, so accepted work always finishes.
macro_rules! flags {
    (allow_oom) => {
        "#!lua flags=allow-oom\n"
    };
}

scripts! {
    /// Creates a job (or returns the one its idempotency key names). The one script Redis may
    /// refuse when full: new work waits until memory frees.
    enqueue: Enqueue from "enqueue.lua";
        keys { turns_key, job_key, idempotency_key, wake_key, unfinished_key }
        args {
            prefix, job_id, file_ids, origin_params, max_attempts, has_idempotency_key,
            scoped_key, client, max_unfinished, trace_parent,
        }
    /// Leases up to `max` waiting jobs, after promoting due retries and taking back expired
    /// leases; one fresh token per job follows the named arguments.
    claim: Claim [allow_oom] from "claim_lib.lua", "claim.lua";
        keys { turns_key, active_key, delayed_key }
        args { prefix, lease_ms, retention_ms, max, reclaimed_error, worker, attempts_kept }
    /// Extends the leases still held; job id and token pairs follow the named arguments.
    renew: Renew [allow_oom] from "renew.lua";
        keys { active_key }
        args { prefix, lease_ms }
    /// Records progress and extends the lease.
    progress: Progress [allow_oom] from "progress.lua";
        keys { job_key, active_key }
        args { job_id, token, percent, lease_ms, bytes_done, bytes_total, files_done }
    /// Remembers (or forgets) the holder's unfinished multipart upload.
    note_upload: NoteUpload [allow_oom] from "note_upload.lua";
        keys { job_key }
        args { token, upload_id, upload_key }
    /// Marks the job completed.
    complete: Complete [allow_oom] from "complete.lua";
        keys { job_key, active_key }
        args {
            prefix, job_id, token, result_key, result_size, result_retention_ms,
            expired_retention_ms,
        }
    /// Marks the job completed and claims the next one in the same round trip.
    complete_claim: CompleteClaim [allow_oom] from "claim_lib.lua", "complete_claim.lua";
        keys { job_key, turns_key, active_key, delayed_key }
        args {
            prefix, job_id, token, result_key, result_size, result_retention_ms, lease_ms,
            fresh_token, retention_ms, expired_retention_ms, reclaimed_error, worker,
            attempts_kept,
        }
    /// Records a failed attempt: a retry after `wait_ms`, or the job's failure.
    fail: Fail [allow_oom] from "fail.lua";
        keys { job_key, active_key, delayed_key }
        args { prefix, job_id, token, error_message, wait_ms, retention_ms, permanent }
    /// Gives a held job back to the front of its client's line without using an attempt.
    release: Release [allow_oom] from "release.lua";
        keys { job_key, active_key, turns_key }
        args { job_id, token, prefix }
    /// Cancels an unfinished job.
    cancel: Cancel [allow_oom] from "cancel.lua";
        keys { job_key, turns_key, active_key, delayed_key }
        args { prefix, job_id, retention_ms }
    /// How long until the earliest lease deadline or retry time.
    next_due: NextDue [allow_oom] from "next_due.lua";
        keys { active_key, delayed_key }
        args {}
    /// The unfinished jobs by state, read in one step.
    depth: Depth [allow_oom] from "depth.lua";
        keys { waiting_key, delayed_key, active_key }
        args {}
    /// What happened per minute (jobs finished by phase, the depth sampled) over the last
    /// minutes. It reads keys it derives
    /// from the prefix; `turns_key` (unused) names the queue's slot, so Redis Cluster runs it on
    /// the node that has them.
    activity_per_minute: ActivityPerMinute [allow_oom] from "activity_per_minute.lua";
        keys { turns_key }
        args { prefix, minutes }
    /// One page of the console's job list. Like the per-minute counts, it derives its keys
    /// from the prefix and names the slot with `turns_key`.
    list_jobs: ListJobs [allow_oom] from "list_jobs.lua";
        keys { turns_key }
        args { prefix, phases, after_score, after_id, limit, client, file_id, budget }
    /// Records an instance as alive for a while, samples the depth, and says whether the queue
    /// is paused.
    heartbeat: Heartbeat [allow_oom] from "heartbeat.lua";
        keys { instances_key, waiting_key, delayed_key, active_key, paused_key }
        args {
            prefix, instance_id, host, concurrency, running, started_at, ttl_ms, origin_state,
            origin_at, origin_error,
        }
    /// The instances alive now.
    instances: Instances [allow_oom] from "instances.lua";
        keys { instances_key }
        args { prefix }
    /// Gives a failed job one more attempt.
    retry_failed: RetryFailed [allow_oom] from "retry_failed.lua";
        keys { job_key, wake_key }
        args { prefix, job_id }
    /// Removes a finished job's record.
    delete: Delete [allow_oom] from "delete.lua";
        keys { job_key }
        args { prefix, job_id }
    /// Pauses or resumes the queue.
    pause: Pause [allow_oom] from "pause.lua";
        keys { paused_key, wake_key }
        args { paused }
    /// Takes (or extends) a work lock.
    lock: Lock [allow_oom] from "lock.lua";
        keys { lock_key }
        args { holder, ttl_ms }
    /// Extends a work lock its holder still has.
    renew_lock: RenewLock [allow_oom] from "renew_lock.lua";
        keys { lock_key }
        args { holder, ttl_ms }
    /// Gives a work lock up if the holder has it.
    unlock: Unlock [allow_oom] from "unlock.lua";
        keys { lock_key }
        args { holder }
}
