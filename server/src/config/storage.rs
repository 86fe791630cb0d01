//! S3 for results (`S3_*`); without it the embedded local-directory store is used.

use super::{
    vars::{check_bucket, check_http_url},
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
        let endpoint = vars.get("S3_ENDPOINT");
        let bucket = vars.get("S3_BUCKET_NAME");
        if endpoint.is_none() && bucket.is_none() {
            return Ok(None);
        }
        for (name, url) in [
            ("S3_ENDPOINT", &endpoint),
            ("S3_PUBLIC_ENDPOINT", &vars.get("S3_PUBLIC_ENDPOINT")),
        ] {
            if let Some(url) = url {
                check_http_url(vars, name, url)?;
            }
        }
        let bucket = bucket.unwrap_or_else(|| "downloads".into());
        check_bucket(vars, "S3_BUCKET_NAME", &bucket)?;
        let access_key_id = vars.get("S3_ACCESS_KEY_ID");
        let secret_access_key = vars.get("S3_SECRET_ACCESS_KEY").map(Secret);
        if access_key_id.is_some() != secret_access_key.is_some() {
            return Err(ConfigError::Invalid {
                name: "S3_SECRET_ACCESS_KEY",
                value: "***".into(),
                reason: "set S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY together, or neither".into(),
            });
        }
        Ok(Some(Self {
            public_endpoint: vars.get("S3_PUBLIC_ENDPOINT"),
            region: vars.get("S3_REGION").unwrap_or_else(|| "us-east-1".into()),
            force_path_style: vars.parse("S3_FORCE_PATH_STYLE", endpoint.is_some())?,
            endpoint,
            bucket,
            access_key_id,
            secret_access_key,
        }))
    }
}

/// A secret that never shows in logs or error messages.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub(super) String);

impl Secret {
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
