//! The job hash in Redis, field by field, and its conversion to [`JobRecord`].
//!
//! Field names match the API's JSON names where there is one; numbers are decimal strings and
//! timestamps milliseconds since the Unix epoch (from Redis' clock). `trace` (absent without
//! traces) is the W3C `traceparent` every attempt's span joins.

use crate::{
    queue::{
        Attempt, AttemptOutcome, ClaimedJob, Instance, JobRecord, JobResult, Lease, Progress,
        Upload,
    },
    storage::ObjectKey,
};
use app::api::{FileId, JobPhase, OriginHealth, OriginState, Timestamp};
use std::{collections::HashMap, str::FromStr};

/// A job hash that does not have the shape the scripts write.
#[derive(Debug, thiserror::Error)]
#[error("corrupt job record: {0}")]
pub struct RecordError(String);

/// File ids as stored: comma-separated, in request order (also what idempotency compares).
pub fn file_ids_field(ids: &[FileId]) -> String {
    ids.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn file_ids(field: &str) -> Result<Vec<FileId>, RecordError> {
    field
        .split(',')
        .map(|raw| {
            raw.parse::<u64>()
                .ok()
                .and_then(|n| FileId::new(n).ok())
                .ok_or_else(|| RecordError(format!("file id {raw:?}")))
        })
        .collect()
}

/// A hash's fields as `HGETALL` answers them. Hashed with foldhash, not the default SipHash:
/// the names are Ferry's own, never a client's, so resistance to chosen collisions buys nothing,
/// and a status read looks up some twenty fields.
pub type Fields = HashMap<String, String, foldhash::fast::RandomState>;

/// `HGETALL`'s flat reply as a map.
pub fn pairs(flat: &[String]) -> Fields {
    flat.chunks(2)
        .filter_map(|pair| match pair {
            [name, value] => Some((name.clone(), value.clone())),
            _ => None,
        })
        .collect()
}

/// The phase as stored or as a script reports it (the API's spelling).
pub fn phase(name: &str) -> Result<JobPhase, RecordError> {
    name.parse()
        .map_err(|e: app::api::UnknownPhase| RecordError(e.to_string()))
}

/// A stored key, checked as every key is: a record cannot smuggle a path past the store.
fn object_key(raw: &str) -> Result<ObjectKey, RecordError> {
    ObjectKey::parse(raw).ok_or_else(|| RecordError(format!("unsafe storage key {raw:?}")))
}

/// Where an upload noted without its key went: records written before uploads carried one
/// wrote where keys were then derived from the job.
fn legacy_upload_key(job_id: &str, file_ids: &[FileId]) -> Result<ObjectKey, RecordError> {
    match file_ids {
        [single] => Ok(ObjectKey::for_file(*single)),
        _ => object_key(&format!("bundles/{job_id}.zip")),
    }
}

fn number<T: FromStr>(value: &str, name: &str) -> Result<T, RecordError> {
    value
        .parse()
        .map_err(|_| RecordError(format!("{name} = {value:?}")))
}

/// A record's fields, taken out one at a time: each value moves into the record uncopied (the
/// status poll reads a whole record on every request).
struct Taken(Fields);

impl Taken {
    fn optional(&mut self, name: &str) -> Option<String> {
        self.0.remove(name)
    }

    fn required(&mut self, name: &str) -> Result<String, RecordError> {
        self.optional(name)
            .ok_or_else(|| RecordError(format!("missing {name}")))
    }

    fn number<T: FromStr>(&mut self, name: &str) -> Result<T, RecordError> {
        number(&self.required(name)?, name)
    }

    /// A numeric field that may be absent (written only once an attempt reports it).
    fn optional_number<T: FromStr>(&mut self, name: &str) -> Result<Option<T>, RecordError> {
        self.optional(name).map(|v| number(&v, name)).transpose()
    }

    fn timestamp(&mut self, name: &str) -> Result<Option<Timestamp>, RecordError> {
        Ok(self.optional_number(name)?.map(Timestamp::from_unix_millis))
    }
}

/// Reads a whole job record.
pub fn parse(fields: Fields) -> Result<JobRecord, RecordError> {
    let mut fields = Taken(fields);
    let result = match (fields.optional("resultKey"), fields.optional("resultSize")) {
        (Some(key), Some(size)) => Some(JobResult {
            key: object_key(&key)?,
            size: number(&size, "resultSize")?,
        }),
        _ => None,
    };
    Ok(JobRecord {
        id: fields.number("id")?,
        client: fields.optional("client").unwrap_or_default(),
        file_ids: file_ids(&fields.required("fileIds")?)?,
        origin_params: fields.optional("params").unwrap_or_default(),
        trace_parent: fields.optional("trace"),
        phase: phase(&fields.required("phase")?)?,
        progress: Progress {
            percent: fields.number("progress")?,
            bytes_done: fields.optional_number("bytesDone")?.unwrap_or(0),
            bytes_total: fields.optional_number("bytesTotal")?,
            files_done: fields.optional_number("filesDone")?.unwrap_or(0),
        },
        attempt: fields.number("attempt")?,
        max_attempts: fields.number("maxAttempts")?,
        created_at: Timestamp::from_unix_millis(fields.number("createdAt")?),
        first_started_at: fields.timestamp("firstStartedAt")?,
        started_at: fields.timestamp("startedAt")?,
        lease_deadline: fields.timestamp("leaseDeadline")?,
        error: fields.optional("error"),
        next_attempt_at: fields.timestamp("nextAttemptAt")?,
        finished_at: fields.timestamp("finishedAt")?,
        result,
        // Absent in records completed before results had a stated end: those expire whole.
        result_expires_at: fields.timestamp("resultExpiresAt")?,
    })
}

/// How many fields the claim script answers per job.
pub const CLAIMED_FIELDS: usize = 9;

/// One entry of a job's attempt list, as the scripts write it (times in milliseconds).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredAttempt {
    number: u32,
    worker: String,
    started_at: u64,
    ended_at: Option<u64>,
    outcome: Option<AttemptOutcome>,
    error: Option<String>,
}

/// Reads one entry of `{p}:attempts:<id>`.
pub fn attempt(entry: &str) -> Result<Attempt, RecordError> {
    let stored: StoredAttempt =
        serde_json::from_str(entry).map_err(|e| RecordError(format!("attempt {entry:?}: {e}")))?;
    Ok(Attempt {
        number: stored.number,
        worker: stored.worker,
        started_at: Timestamp::from_unix_millis(stored.started_at),
        ended_at: stored.ended_at.map(Timestamp::from_unix_millis),
        outcome: stored.outcome,
        error: stored.error,
    })
}

/// An origin state as an instance's hash stores it.
pub fn origin_state_field(state: OriginState) -> &'static str {
    match state {
        OriginState::Unknown => "unknown",
        OriginState::Answering => "answering",
        OriginState::Failing => "failing",
    }
}

/// The origin's health from an instance's hash (absent in entries of older Ferry versions:
/// unknown).
fn origin_health(fields: &Fields) -> OriginHealth {
    let state = match fields.get("originState").map(String::as_str) {
        Some("answering") => OriginState::Answering,
        Some("failing") => OriginState::Failing,
        _ => OriginState::Unknown,
    };
    OriginHealth {
        state,
        at: fields
            .get("originAt")
            .and_then(|v| v.parse().ok())
            .map(Timestamp::from_unix_millis),
        error: fields.get("originError").filter(|e| !e.is_empty()).cloned(),
    }
}

/// An instance's hash (`{p}:instance:<id>`), as `heartbeat.lua` writes it.
pub fn instance(fields: &Fields) -> Result<Instance, RecordError> {
    let field = |name: &str| {
        fields
            .get(name)
            .cloned()
            .ok_or_else(|| RecordError(format!("instance without {name}")))
    };
    let number = |name: &str| {
        field(name)?
            .parse::<u64>()
            .map_err(|e| RecordError(format!("instance {name}: {e}")))
    };
    let running = field("running")?;
    Ok(Instance {
        id: field("id")?,
        host: field("host")?,
        concurrency: u32::try_from(number("concurrency")?)
            .map_err(|e| RecordError(format!("instance concurrency: {e}")))?,
        running: running
            .split(',')
            .filter(|id| !id.is_empty())
            .map(|id| {
                id.parse()
                    .map_err(|e| RecordError(format!("instance job {id}: {e}")))
            })
            .collect::<Result<_, _>>()?,
        started_at: Timestamp::from_unix_millis(number("startedAt")?),
        seen_at: Timestamp::from_unix_millis(number("seenAt")?),
        origin: origin_health(fields),
    })
}

/// One job of the claim script's reply: id, token, file ids, origin params, attempt, max
/// attempts, abandoned upload and its key, trace parent.
pub fn claimed(reply: &[String]) -> Result<ClaimedJob, RecordError> {
    match reply {
        [id, token, ids, params, attempt, max_attempts, upload, upload_key, trace] => {
            let file_ids = file_ids(ids)?;
            let abandoned_upload = match (upload.is_empty(), upload_key.is_empty()) {
                (true, _) => None,
                (false, true) => Some(Upload {
                    key: legacy_upload_key(id, &file_ids)?,
                    id: upload.clone(),
                }),
                (false, false) => Some(Upload {
                    key: object_key(upload_key)?,
                    id: upload.clone(),
                }),
            };
            Ok(ClaimedJob {
                lease: Lease {
                    job_id: number(id, "id")?,
                    token: token.clone(),
                    attempt: number(attempt, "attempt")?,
                },
                file_ids,
                origin_params: params.clone(),
                trace_parent: (!trace.is_empty()).then(|| trace.clone()),
                max_attempts: number(max_attempts, "maxAttempts")?,
                abandoned_upload,
            })
        }
        other => Err(RecordError(format!("claim reply {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_ids_round_trip_through_their_field() {
        let ids = vec![FileId::new(12345).unwrap(), FileId::new(23456).unwrap()];
        assert_eq!(file_ids_field(&ids), "12345,23456");
        assert_eq!(file_ids("12345,23456").unwrap(), ids);
        assert!(file_ids("12345,x").is_err());
    }

    #[test]
    fn a_stored_record_parses() {
        let flat: Vec<String> = [
            ("id", "01HQ3Z8M5X7Y9A2B4C6D8E0F1G"),
            ("fileIds", "12345"),
            ("params", "{\"delayMs\":1000}"),
            ("phase", "completed"),
            ("progress", "100"),
            ("attempt", "2"),
            ("maxAttempts", "4"),
            ("createdAt", "1700000000000"),
            ("finishedAt", "1700000005000"),
            ("resultKey", "downloads/12345.zip"),
            ("resultSize", "42"),
        ]
        .iter()
        .flat_map(|(k, v)| [k.to_string(), v.to_string()])
        .collect();
        let record = parse(pairs(&flat)).unwrap();
        assert_eq!(record.phase, JobPhase::Completed);
        assert_eq!(record.attempt, 2);
        assert_eq!(record.started_at, None);
        assert_eq!(
            record.finished_at,
            Some(Timestamp::from_unix_millis(1_700_000_005_000))
        );
        assert_eq!(record.result.unwrap().size, 42);
        let mut unsafe_key = pairs(&flat);
        unsafe_key.insert("resultKey".into(), "../../etc/passwd".into());
        assert!(parse(unsafe_key).is_err());
    }
}
