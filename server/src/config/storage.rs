//! S3 for results (`S3_*`); without it the embedded local-directory store is used.

use super::{
    variables::{Var, S3_ACCESS_KEY_ID, S3_BUCKET_NAME, S3_ENDPOINT, S3_FORCE_PATH_STYLE},
    variables::{S3_PUBLIC_ENDPOINT, S3_REGION, S3_SECRET_ACCESS_KEY},
    ConfigError, Vars,
};

/// Where results go when S3 is configured (`S3_ENDPOINT` or `S3_BUCKET_NAME` set).
#[derive(Debug, Clone)]
pub struct S3Settings {
    /// API endpoint the server talks to; `None` is AWS itself.
    pub endpoint: Option<String>,
    /// Endpoint the browser reaches, which presigned links are signed for.
    pub public_endpoint: Option<String>,
    pub region: String,
    pub bucket: String,
    /// Static credentials; without them the standard AWS credential chain applies.
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<Secret>,
    /// Path-style URLs (`http://host/bucket/key`), which MinIO and SeaweedFS need.
    pub force_path_style: bool,
}

impl S3Settings {
    pub(super) fn from_vars(vars: &Vars<'_>) -> Result<Option<Self>, ConfigError> {
        let endpoint = vars.value(&S3_ENDPOINT);
        if endpoint.is_none() && vars.value(&S3_BUCKET_NAME).is_none() {
            return Ok(None);
        }
        let public_endpoint = vars.value(&S3_PUBLIC_ENDPOINT);
        for (var, url) in [
            (&S3_ENDPOINT, &endpoint),
            (&S3_PUBLIC_ENDPOINT, &public_endpoint),
        ] {
            if let Some(url) = url {
                check_http_url(vars, var, url)?;
            }
        }
        let bucket = vars.text(&S3_BUCKET_NAME);
        check_bucket(vars, &S3_BUCKET_NAME, &bucket)?;
        let (access_key_id, secret_access_key) =
            credentials(vars, &S3_ACCESS_KEY_ID, &S3_SECRET_ACCESS_KEY)?;
        Ok(Some(Self {
            public_endpoint,
            region: vars.text(&S3_REGION),
            force_path_style: vars.flag(&S3_FORCE_PATH_STYLE, endpoint.is_some())?,
            endpoint,
            bucket,
            access_key_id,
            secret_access_key,
        }))
    }
}

/// Static credentials: an access key id and its secret together, or neither.
pub(super) fn credentials(
    vars: &Vars<'_>,
    id: &Var,
    secret: &Var,
) -> Result<(Option<String>, Option<Secret>), ConfigError> {
    let pair = (vars.value(id), vars.value(secret).map(Secret));
    vars.check(secret, "***", pair.0.is_some() == pair.1.is_some())?;
    Ok(pair)
}

/// An http:// or https:// URL.
pub(super) fn check_http_url(vars: &Vars<'_>, var: &Var, url: &str) -> Result<(), ConfigError> {
    vars.check(
        var,
        url,
        url.starts_with("http://") || url.starts_with("https://"),
    )
}

/// A bucket name S3 accepts.
pub(super) fn check_bucket(vars: &Vars<'_>, var: &Var, bucket: &str) -> Result<(), ConfigError> {
    let valid = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'.'));
    vars.check(var, bucket, valid)
}

/// A secret that never shows in logs or error messages.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub(super) String);

impl Secret {
    /// Wraps a secret that does not come from the environment (tests, derived keys).
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}
