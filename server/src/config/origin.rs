//! Where files come from (`ORIGIN`): the simulated origin, an S3 bucket, or an HTTP service.

use super::{
    storage::{S3Settings, Secret},
    vars::{check_bucket, check_http_url},
    ConfigError, Vars,
};
use crate::origin::{
    http::{url_for, HttpOriginSettings},
    s3::{S3OriginSettings, FILE_ID_PLACEHOLDER},
    simulated::{SimulatedSettings, DEFAULT_FILE_BYTES},
};
use app::api::FileId;
use std::time::Duration;

/// The origin `ORIGIN` selects, with its own settings.
#[derive(Debug, Clone)]
pub enum OriginSettings {
    /// Generated files (`ORIGIN=simulated`, the default).
    Simulated(SimulatedSettings),
    /// Objects in a source bucket (`ORIGIN=s3`).
    S3(S3OriginSettings),
    /// An upstream HTTP service (`ORIGIN=http`).
    Http(HttpOriginSettings),
}

impl OriginSettings {
    pub(super) fn from_vars(
        vars: &Vars<'_>,
        results: Option<&S3Settings>,
    ) -> Result<Self, ConfigError> {
        match vars.get("ORIGIN").as_deref().map(str::trim) {
            None | Some("simulated") => Ok(Self::Simulated(simulated_settings(vars)?)),
            Some("s3") => Ok(Self::S3(s3_origin_settings(vars, results)?)),
            Some("http") => Ok(Self::Http(http_origin_settings(vars)?)),
            Some(other) => Err(ConfigError::Invalid {
                name: "ORIGIN",
                value: other.to_owned(),
                reason: "use simulated, s3 or http".into(),
            }),
        }
    }
}

fn simulated_settings(vars: &Vars<'_>) -> Result<SimulatedSettings, ConfigError> {
    let delay_min_ms: u64 = vars.parse("DOWNLOAD_DELAY_MIN_MS", 10_000)?;
    let delay_max_ms: u64 = vars.parse("DOWNLOAD_DELAY_MAX_MS", 120_000)?;
    vars.check(
        "DOWNLOAD_DELAY_MAX_MS",
        delay_max_ms,
        delay_max_ms >= delay_min_ms,
        "must not be below DOWNLOAD_DELAY_MIN_MS",
    )?;
    let failure_rate: f64 = vars.parse("SIMULATED_FAILURE_RATE", 0.0)?;
    vars.check(
        "SIMULATED_FAILURE_RATE",
        failure_rate,
        (0.0..=1.0).contains(&failure_rate),
        "use a probability from 0 to 1",
    )?;
    let failing_file_ids = vars.file_id_set("SIMULATED_FAILURE_FILE_IDS")?;
    let file_bytes: u64 = vars.parse("SIMULATED_FILE_SIZE_BYTES", DEFAULT_FILE_BYTES)?;
    vars.check(
        "SIMULATED_FILE_SIZE_BYTES",
        file_bytes,
        (1..=1 << 32).contains(&file_bytes),
        "use 1 byte to 4 GiB",
    )?;
    Ok(SimulatedSettings {
        delay_ms: (delay_min_ms, delay_max_ms),
        failure_rate,
        failing_file_ids,
        file_bytes,
    })
}

/// A template must name the file: `{file_id}` somewhere in it.
fn check_template(vars: &Vars<'_>, name: &'static str, template: &str) -> Result<(), ConfigError> {
    vars.check(
        name,
        template,
        template.contains(FILE_ID_PLACEHOLDER),
        "put {file_id} where the file's id goes",
    )
}

/// The source bucket, with endpoint, region and credentials defaulting to the result store's.
fn s3_origin_settings(
    vars: &Vars<'_>,
    results: Option<&S3Settings>,
) -> Result<S3OriginSettings, ConfigError> {
    let bucket = vars.get("ORIGIN_S3_BUCKET").ok_or(ConfigError::Invalid {
        name: "ORIGIN_S3_BUCKET",
        value: String::new(),
        reason: "ORIGIN=s3 needs the bucket the files are in".into(),
    })?;
    check_bucket(vars, "ORIGIN_S3_BUCKET", &bucket)?;
    let key_template = vars
        .get("ORIGIN_S3_KEY_TEMPLATE")
        .unwrap_or_else(|| format!("files/{FILE_ID_PLACEHOLDER}"));
    check_template(vars, "ORIGIN_S3_KEY_TEMPLATE", &key_template)?;
    let endpoint = vars
        .get("ORIGIN_S3_ENDPOINT")
        .or_else(|| results.and_then(|r| r.endpoint.clone()));
    if let Some(url) = &endpoint {
        check_http_url(vars, "ORIGIN_S3_ENDPOINT", url)?;
    }
    let (access_key_id, secret_access_key) = match (
        vars.get("ORIGIN_S3_ACCESS_KEY_ID"),
        vars.get("ORIGIN_S3_SECRET_ACCESS_KEY").map(Secret),
    ) {
        (None, None) => (
            results.and_then(|r| r.access_key_id.clone()),
            results.and_then(|r| r.secret_access_key.clone()),
        ),
        (Some(id), Some(secret)) => (Some(id), Some(secret)),
        _ => return Err(ConfigError::Invalid {
            name: "ORIGIN_S3_SECRET_ACCESS_KEY",
            value: "***".into(),
            reason:
                "set ORIGIN_S3_ACCESS_KEY_ID and ORIGIN_S3_SECRET_ACCESS_KEY together, or neither"
                    .into(),
        }),
    };
    let region = vars
        .get("ORIGIN_S3_REGION")
        .or_else(|| results.map(|r| r.region.clone()))
        .unwrap_or_else(|| "us-east-1".into());
    let force_path_style = vars.parse("ORIGIN_S3_FORCE_PATH_STYLE", endpoint.is_some())?;
    Ok(S3OriginSettings {
        s3: S3Settings {
            endpoint,
            public_endpoint: None,
            region,
            bucket,
            access_key_id,
            secret_access_key,
            force_path_style,
        },
        key_template,
    })
}

fn http_origin_settings(vars: &Vars<'_>) -> Result<HttpOriginSettings, ConfigError> {
    let url_template = vars
        .get("ORIGIN_URL_TEMPLATE")
        .ok_or(ConfigError::Invalid {
            name: "ORIGIN_URL_TEMPLATE",
            value: String::new(),
            reason: "ORIGIN=http needs the URL of a file, such as http://files.internal/{file_id}"
                .into(),
        })?;
    check_template(vars, "ORIGIN_URL_TEMPLATE", &url_template)?;
    let sample = FileId::new(app::api::FILE_ID_MIN).expect("the smallest id is valid");
    let sample_url = url_for(&url_template, sample);
    vars.check(
        "ORIGIN_URL_TEMPLATE",
        &url_template,
        sample_url.is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.has_host()),
        "use an http:// or https:// URL with a host",
    )?;
    let auth_header = match vars.get("ORIGIN_AUTH_HEADER") {
        None => None,
        Some(raw) => {
            let parsed = raw.split_once(':').and_then(|(name, value)| {
                let name = name.trim();
                let value = value.trim();
                let valid = axum::http::HeaderName::from_bytes(name.as_bytes()).is_ok()
                    && axum::http::HeaderValue::from_str(value).is_ok()
                    && !value.is_empty();
                valid.then(|| (name.to_owned(), Secret(value.to_owned())))
            });
            Some(parsed.ok_or(ConfigError::Invalid {
                name: "ORIGIN_AUTH_HEADER",
                value: "***".into(),
                reason: "use Name: value, such as Authorization: Bearer <token>".into(),
            })?)
        }
    };
    let connect_timeout_ms: u64 = vars.parse("ORIGIN_CONNECT_TIMEOUT_MS", 5_000)?;
    let read_timeout_ms: u64 = vars.parse("ORIGIN_READ_TIMEOUT_MS", 30_000)?;
    for (name, value) in [
        ("ORIGIN_CONNECT_TIMEOUT_MS", connect_timeout_ms),
        ("ORIGIN_READ_TIMEOUT_MS", read_timeout_ms),
    ] {
        vars.check(
            name,
            value,
            (1..=3_600_000).contains(&value),
            "use 1 ms to 1 hour",
        )?;
    }
    let max_redirects: usize = vars.parse("ORIGIN_MAX_REDIRECTS", 5)?;
    vars.check(
        "ORIGIN_MAX_REDIRECTS",
        max_redirects,
        max_redirects <= 20,
        "use 0 to 20",
    )?;
    Ok(HttpOriginSettings {
        url_template,
        auth_header,
        connect_timeout: Duration::from_millis(connect_timeout_ms),
        read_timeout: Duration::from_millis(read_timeout_ms),
        max_redirects,
    })
}
