//! Where files come from (`ORIGIN`): the simulated origin, an S3 bucket, or an HTTP service.

use super::{
    storage::{check_bucket, check_http_url, S3Settings, Secret},
    variables::*,
    ConfigError, Vars,
};
use crate::origin::{
    http::{url_for, HttpOriginSettings},
    s3::{S3OriginSettings, FILE_ID_PLACEHOLDER},
    simulated::SimulatedSettings,
};
use app::api::FileId;

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
        Ok(match vars.one_of(&ORIGIN)? {
            "s3" => Self::S3(s3_origin_settings(vars, results)?),
            "http" => Self::Http(http_origin_settings(vars)?),
            _ => Self::Simulated(simulated_settings(vars)?),
        })
    }
}

fn simulated_settings(vars: &Vars<'_>) -> Result<SimulatedSettings, ConfigError> {
    let delay_min_ms: u64 = vars.number(&DOWNLOAD_DELAY_MIN_MS)?;
    let delay_max_ms: u64 = vars.number(&DOWNLOAD_DELAY_MAX_MS)?;
    if delay_max_ms < delay_min_ms {
        let reason = "must not be below DOWNLOAD_DELAY_MIN_MS";
        return Err(vars.invalid(&DOWNLOAD_DELAY_MAX_MS, delay_max_ms, reason));
    }
    Ok(SimulatedSettings {
        delay_ms: (delay_min_ms, delay_max_ms),
        failure_rate: vars.fraction(&SIMULATED_FAILURE_RATE)?,
        failing_file_ids: vars.file_id_set(&SIMULATED_FAILURE_FILE_IDS)?,
        file_bytes: vars.number(&SIMULATED_FILE_SIZE_BYTES)?,
    })
}

/// A variable that `ORIGIN=…` cannot do without.
fn required(vars: &Vars<'_>, var: &Var, why: &str) -> Result<String, ConfigError> {
    vars.value(var).ok_or_else(|| vars.invalid(var, "", why))
}

/// The source bucket, with endpoint, region and credentials defaulting to the result store's.
fn s3_origin_settings(
    vars: &Vars<'_>,
    results: Option<&S3Settings>,
) -> Result<S3OriginSettings, ConfigError> {
    let bucket = required(
        vars,
        &ORIGIN_S3_BUCKET,
        "ORIGIN=s3 needs the bucket the files are in",
    )?;
    check_bucket(vars, &ORIGIN_S3_BUCKET, &bucket)?;
    let key_template = vars.text(&ORIGIN_S3_KEY_TEMPLATE);
    vars.check(
        &ORIGIN_S3_KEY_TEMPLATE,
        &key_template,
        key_template.contains(FILE_ID_PLACEHOLDER),
    )?;
    let endpoint = vars
        .value(&ORIGIN_S3_ENDPOINT)
        .or_else(|| results.and_then(|r| r.endpoint.clone()));
    if let Some(url) = &endpoint {
        check_http_url(vars, &ORIGIN_S3_ENDPOINT, url)?;
    }
    let own = vars.value(&ORIGIN_S3_ACCESS_KEY_ID).is_some()
        || vars.value(&ORIGIN_S3_SECRET_ACCESS_KEY).is_some();
    let (access_key_id, secret_access_key) = if own {
        super::storage::credentials(vars, &ORIGIN_S3_ACCESS_KEY_ID, &ORIGIN_S3_SECRET_ACCESS_KEY)?
    } else {
        (
            results.and_then(|r| r.access_key_id.clone()),
            results.and_then(|r| r.secret_access_key.clone()),
        )
    };
    let region = vars
        .value(&ORIGIN_S3_REGION)
        .or_else(|| results.map(|r| r.region.clone()))
        .unwrap_or_else(|| S3_REGION.default_value());
    Ok(S3OriginSettings {
        s3: S3Settings {
            force_path_style: vars.flag(&ORIGIN_S3_FORCE_PATH_STYLE, endpoint.is_some())?,
            endpoint,
            public_endpoint: None,
            region,
            bucket,
            access_key_id,
            secret_access_key,
        },
        key_template,
    })
}

fn http_origin_settings(vars: &Vars<'_>) -> Result<HttpOriginSettings, ConfigError> {
    let url_template = required(
        vars,
        &ORIGIN_URL_TEMPLATE,
        "ORIGIN=http needs the URL of a file, such as http://files.internal/{file_id}",
    )?;
    let sample = FileId::new(app::api::FILE_ID_MIN).expect("the smallest id is valid");
    let usable = url_template.contains(FILE_ID_PLACEHOLDER)
        && url_for(&url_template, sample)
            .is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.has_host());
    vars.check(&ORIGIN_URL_TEMPLATE, &url_template, usable)?;
    let auth_header = vars
        .value(&ORIGIN_AUTH_HEADER)
        .map(|raw| {
            let (name, value) = raw.split_once(':').unwrap_or_default();
            let (name, value) = (name.trim(), value.trim());
            let valid = axum::http::HeaderName::from_bytes(name.as_bytes()).is_ok()
                && axum::http::HeaderValue::from_str(value).is_ok()
                && !value.is_empty();
            // The value is a secret: the error shows stars, never what was set.
            vars.check(&ORIGIN_AUTH_HEADER, "***", valid)?;
            Ok((name.to_owned(), Secret(value.to_owned())))
        })
        .transpose()?;
    Ok(HttpOriginSettings {
        url_template,
        auth_header,
        connect_timeout: vars.duration(&ORIGIN_CONNECT_TIMEOUT_MS)?,
        read_timeout: vars.duration(&ORIGIN_READ_TIMEOUT_MS)?,
        max_redirects: vars.number(&ORIGIN_MAX_REDIRECTS)?,
    })
}
