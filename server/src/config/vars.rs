//! Typed access to the environment, with errors that name the variable.

use super::ConfigError;
use app::api::FileId;
use std::{collections::HashSet, str::FromStr};

/// Typed access to the variables, producing errors that name them.
pub(super) struct Vars<'a>(pub(super) &'a dyn Fn(&str) -> Option<String>);

impl Vars<'_> {
    pub(super) fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.trim().is_empty())
    }

    pub(super) fn parse<T: FromStr>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(value) => value
                .trim()
                .parse()
                .map_err(|e: T::Err| ConfigError::Invalid {
                    name,
                    reason: e.to_string(),
                    value,
                }),
        }
    }

    pub(super) fn check<T: ToString>(
        &self,
        name: &'static str,
        value: T,
        ok: bool,
        reason: &str,
    ) -> Result<(), ConfigError> {
        if ok {
            Ok(())
        } else {
            Err(ConfigError::Invalid {
                name,
                value: value.to_string(),
                reason: reason.into(),
            })
        }
    }

    pub(super) fn file_id_set(&self, name: &'static str) -> Result<HashSet<FileId>, ConfigError> {
        let Some(value) = self.get(name) else {
            return Ok(HashSet::new());
        };
        value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<u64>()
                    .map_err(|e| e.to_string())
                    .and_then(|raw| FileId::new(raw).map_err(|e| e.to_string()))
                    .map_err(|reason| ConfigError::Invalid {
                        name,
                        value: value.clone(),
                        reason,
                    })
            })
            .collect()
    }
}

/// An http:// or https:// URL.
pub(super) fn check_http_url(
    vars: &Vars<'_>,
    name: &'static str,
    url: &str,
) -> Result<(), ConfigError> {
    vars.check(
        name,
        url,
        url.starts_with("http://") || url.starts_with("https://"),
        "use an http:// or https:// URL",
    )
}

/// A bucket name S3 accepts.
pub(super) fn check_bucket(
    vars: &Vars<'_>,
    name: &'static str,
    bucket: &str,
) -> Result<(), ConfigError> {
    vars.check(
        name,
        bucket,
        (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'.')),
        "use 3 to 63 lowercase letters, digits, '-' or '.'",
    )
}
