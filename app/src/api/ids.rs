//! The values the API's bodies carry, each checked once when it is made.

use super::InvalidRequest;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::{
    fmt,
    str::FromStr,
    time::{Duration, SystemTime, UNIX_EPOCH},
};
use ulid::Ulid;

/// Smallest file id the download service we replace ever issued.
pub const FILE_ID_MIN: u64 = 10_000;
/// Largest file id the download service we replace ever issued.
pub const FILE_ID_MAX: u64 = 100_000_000;

/// A file id known to be inside the range the download service accepts.
///
/// Its only constructor checks the range, so code holding a `FileId` never re-validates it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct FileId(u64);

impl FileId {
    /// Checks `raw` against `FILE_ID_MIN..=FILE_ID_MAX`.
    pub fn new(raw: u64) -> Result<Self, InvalidRequest> {
        if (FILE_ID_MIN..=FILE_ID_MAX).contains(&raw) {
            Ok(Self(raw))
        } else {
            Err(InvalidRequest::FileIdOutOfRange(raw))
        }
    }

    /// The numeric id, for keys and file names.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Accepts any JSON number with an integral value (`12345` and `12345.0` alike, as JSON Schema's
/// `integer` and the JavaScript service Ferry replaces do), then checks the range.
impl<'de> Deserialize<'de> for FileId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IntegralNumber;

        impl serde::de::Visitor<'_> for IntegralNumber {
            type Value = u64;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "an integer from {FILE_ID_MIN} to {FILE_ID_MAX}")
            }

            fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<u64, E> {
                Ok(value)
            }

            fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<u64, E> {
                u64::try_from(value).map_err(|_| {
                    E::custom(format!("file id {value} is out of range: use an integer from {FILE_ID_MIN} to {FILE_ID_MAX}"))
                })
            }

            fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<u64, E> {
                if value.fract() == 0.0 && (0.0..=u64::MAX as f64).contains(&value) {
                    Ok(value as u64)
                } else {
                    Err(E::invalid_type(serde::de::Unexpected::Float(value), &self))
                }
            }
        }

        let raw = deserializer.deserialize_any(IntegralNumber)?;
        FileId::new(raw).map_err(serde::de::Error::custom)
    }
}

/// A job's identity: a ULID, so ids sort by creation time and are safe in keys and URLs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ssr",
    derive(utoipa::ToSchema),
    schema(
        value_type = String,
        pattern = "^[0-7][0-9A-HJKMNP-TV-Z]{25}$",
        example = "01HQ3Z8M5X7Y9A2B4C6D8E0F1G"
    )
)]
#[serde(transparent)]
pub struct JobId(Ulid);

impl JobId {
    /// A fresh id. Only the server creates ids (it needs a clock and randomness).
    pub fn generate() -> Self {
        Self(Ulid::new())
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Why a string is not a job id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a job id: job ids are 26-character ULIDs such as 01HQ3Z8M5X7Y9A2B4C6D8E0F1G")]
pub struct InvalidJobId(pub String);

impl FromStr for JobId {
    type Err = InvalidJobId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ulid::from_string(s)
            .map(JobId)
            .map_err(|_| InvalidJobId(s.chars().take(64).collect()))
    }
}

/// An instant, carried as milliseconds since the Unix epoch and written as RFC 3339 UTC.
///
/// Milliseconds keep arithmetic (deadlines, elapsed time) trivial on both sides; the string form
/// is what docs/ARCHITECTURE.md promises to API clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(
    feature = "ssr",
    derive(utoipa::ToSchema),
    schema(value_type = String, format = DateTime, example = "2026-11-29T10:15:30.123Z")
)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The instant `millis` milliseconds after 1970-01-01T00:00:00Z.
    pub fn from_unix_millis(millis: u64) -> Self {
        Self(millis)
    }

    /// Milliseconds since the Unix epoch.
    pub fn unix_millis(self) -> u64 {
        self.0
    }

    fn as_system_time(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.0)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        humantime::format_rfc3339_millis(self.as_system_time()).fmt(f)
    }
}

impl FromStr for Timestamp {
    type Err = humantime::TimestampError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let time = humantime::parse_rfc3339(s)?;
        let millis = time
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        Ok(Self(millis))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}
