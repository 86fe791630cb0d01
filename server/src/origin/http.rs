//! Files served by an upstream HTTP service (`ORIGIN=http`), through `reqwest` with rustls.
//!
//! `HEAD {ORIGIN_URL_TEMPLATE}` tells the size (`Content-Length`), the version (`ETag`, else
//! `Last-Modified`) and the name (`Content-Disposition`); `GET` streams the body, never buffering
//! a whole file. A `GET` that answers another size or version than the `HEAD` did is a file that
//! changed ([`OriginError::Changed`], retried). Status codes map to errors a person can act on:
//! 404/410 the file does not exist, 401/403 access denied (both permanent), 408/429/5xx and every
//! network failure retried. `ORIGIN_AUTH_HEADER` is sent with every request, marked sensitive,
//! never logged, and never sent to another host: a redirect that leaves the origin's host while
//! it is set is refused.

use super::{s3::FILE_ID_PLACEHOLDER, ByteStream, OpenedFile, Origin, OriginError, SourceFile};
use crate::config::Secret;
use app::api::FileId;
use async_trait::async_trait;
use futures::StreamExt;
use reqwest::{
    header::{
        HeaderMap, HeaderName, HeaderValue, CONTENT_DISPOSITION, CONTENT_LENGTH, ETAG,
        LAST_MODIFIED,
    },
    redirect, Client, Method, Response, StatusCode, Url,
};
use std::{error::Error as _, time::Duration};

/// Settings of the HTTP origin.
#[derive(Debug, Clone)]
pub struct HttpOriginSettings {
    /// A file's URL: `{file_id}` is replaced by the id (`http://files.internal/{file_id}`).
    pub url_template: String,
    /// A header sent with every request (`Authorization: Bearer …`); a secret.
    pub auth_header: Option<(String, Secret)>,
    /// How long establishing a connection may take.
    pub connect_timeout: Duration,
    /// How long the origin may stay silent while answering or sending the body.
    pub read_timeout: Duration,
    /// Redirects followed per request.
    pub max_redirects: usize,
}

/// Why the HTTP origin's settings cannot work.
#[derive(Debug, thiserror::Error)]
pub enum HttpOriginError {
    #[error("the HTTP client cannot be built: {0}")]
    Client(#[from] reqwest::Error),
    #[error("the auth header cannot be sent: {0}")]
    AuthHeader(String),
}

/// [`Origin`] on an HTTP service.
pub struct HttpOrigin {
    client: Client,
    url_template: String,
}

/// The file's URL for a template (validated at start-up, see `config`).
pub fn url_for(template: &str, file_id: FileId) -> Result<Url, String> {
    Url::parse(&template.replace(FILE_ID_PLACEHOLDER, &file_id.to_string()))
        .map_err(|e| e.to_string())
}

/// Scheme, host and port: what a redirect must keep for credentials to follow it.
fn same_site(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// The whole chain of a `reqwest` error, which its `Display` alone does not show.
fn describe_error(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// What an answer's status means for the file (`None`: a success).
fn status_error(file_id: FileId, status: StatusCode) -> Option<OriginError> {
    if status.is_success() {
        return None;
    }
    let detail = format!("HTTP {status}");
    Some(match status.as_u16() {
        404 | 410 => OriginError::NotFound { file_id, detail },
        401 | 403 => OriginError::AccessDenied { file_id, detail },
        408 | 425 | 429 | 500.. => OriginError::Unavailable { file_id, detail },
        _ => OriginError::Refused { file_id, detail },
    })
}

/// A request that did not get an answer.
fn request_error(file_id: FileId, error: &reqwest::Error) -> OriginError {
    let detail = describe_error(error);
    if error.is_redirect() {
        OriginError::Refused { file_id, detail }
    } else {
        OriginError::Unavailable { file_id, detail }
    }
}

/// The file name of a `Content-Disposition` header: `filename*` (RFC 5987, UTF-8) when present,
/// else `filename`. Not yet safe as an entry name (see [`super::names`]).
pub fn disposition_filename(header: &str) -> Option<String> {
    let mut plain = None;
    for parameter in header.split(';').skip(1) {
        let Some((name, value)) = parameter.split_once('=') else {
            continue;
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "filename*" => {
                let (charset, rest) = value.split_once('\'')?;
                let (_language, encoded) = rest.split_once('\'')?;
                if charset.eq_ignore_ascii_case("utf-8") {
                    if let Some(decoded) = percent_decode(encoded) {
                        return Some(decoded);
                    }
                }
            }
            "filename" => {
                let unquoted = value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .map(|v| v.replace("\\\"", "\"").replace("\\\\", "\\"))
                    .unwrap_or_else(|| value.to_owned());
                plain = Some(unquoted);
            }
            _ => {}
        }
    }
    plain.filter(|name| !name.is_empty())
}

fn percent_decode(encoded: &str) -> Option<String> {
    let bytes = encoded.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = encoded.get(i + 1..i + 3)?;
            decoded.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(decoded).ok()
}

/// What an answer's headers say about the file.
fn described(file_id: FileId, response: &Response) -> SourceFile {
    let headers = response.headers();
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    SourceFile {
        file_id,
        name: text(CONTENT_DISPOSITION).and_then(disposition_filename),
        // The header itself: for a HEAD answer, the (empty) body's length says nothing.
        size: text(CONTENT_LENGTH).and_then(|v| v.trim().parse().ok()),
        version: text(ETAG)
            .or_else(|| text(LAST_MODIFIED))
            .map(str::to_owned),
    }
}

impl HttpOrigin {
    /// Builds the client: timeouts, bounded redirects, the auth header.
    pub fn new(settings: &HttpOriginSettings) -> Result<Self, HttpOriginError> {
        let mut headers = HeaderMap::new();
        if let Some((name, value)) = &settings.auth_header {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| HttpOriginError::AuthHeader(e.to_string()))?;
            let mut value = HeaderValue::from_str(value.expose()).map_err(|_| {
                HttpOriginError::AuthHeader("the value is not a valid header value".into())
            })?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        let has_credentials = settings.auth_header.is_some();
        let max_redirects = settings.max_redirects;
        let policy = redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > max_redirects {
                return attempt.error(format!("more than {max_redirects} redirects"));
            }
            let leaves_site = attempt
                .previous()
                .first()
                .is_some_and(|first| !same_site(first, attempt.url()));
            if has_credentials && leaves_site {
                return attempt
                    .error("redirected to another host: ORIGIN_AUTH_HEADER is not sent there");
            }
            attempt.follow()
        });
        let client = Client::builder()
            .user_agent(concat!("ferry/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            .connect_timeout(settings.connect_timeout)
            .read_timeout(settings.read_timeout)
            .redirect(policy)
            .build()?;
        Ok(Self {
            client,
            url_template: settings.url_template.clone(),
        })
    }

    /// The origin's answer, whatever its status.
    async fn send(&self, method: Method, file_id: FileId) -> Result<Response, OriginError> {
        let url = url_for(&self.url_template, file_id).map_err(|e| OriginError::Refused {
            file_id,
            detail: format!("no valid URL for the file: {e}"),
        })?;
        self.client
            .request(method, url)
            .send()
            .await
            .map_err(|e| request_error(file_id, &e))
    }
}

#[async_trait]
impl Origin for HttpOrigin {
    fn describe(&self) -> String {
        // The template only: a secret never rides in a URL we print (the auth header carries it).
        format!("HTTP {}", self.url_template)
    }

    fn job_params(&self, _file_ids: &[FileId]) -> String {
        String::new()
    }

    async fn stat(&self, file_id: FileId, _params: &str) -> Result<SourceFile, OriginError> {
        let response = self.send(Method::HEAD, file_id).await?;
        match response.status() {
            // A server that does not do HEAD: the GET will tell.
            StatusCode::METHOD_NOT_ALLOWED | StatusCode::NOT_IMPLEMENTED => Ok(SourceFile {
                file_id,
                name: None,
                size: None,
                version: None,
            }),
            status => match status_error(file_id, status) {
                None => Ok(described(file_id, &response)),
                Some(error) => Err(error),
            },
        }
    }

    async fn open(&self, file: &SourceFile, _params: &str) -> Result<OpenedFile, OriginError> {
        let file_id = file.file_id;
        let response = self.send(Method::GET, file_id).await?;
        if let Some(error) = status_error(file_id, response.status()) {
            return Err(error);
        }
        let read = described(file_id, &response);
        let changed = |what: &str, before: &dyn std::fmt::Debug, now: &dyn std::fmt::Debug| {
            OriginError::Changed {
                file_id,
                detail: format!("{what} was {before:?} and is now {now:?}"),
            }
        };
        if let (Some(before), Some(now)) = (&file.version, &read.version) {
            if before != now {
                return Err(changed("the version", before, now));
            }
        }
        if let (Some(before), Some(now)) = (file.size, read.size) {
            if before != now {
                return Err(changed("the size", &before, &now));
            }
        }
        let bytes: ByteStream = Box::pin(response.bytes_stream().map(move |chunk| {
            chunk.map_err(|e| OriginError::Unavailable {
                file_id,
                detail: describe_error(&e),
            })
        }));
        Ok(OpenedFile {
            file: SourceFile {
                name: read.name.or_else(|| file.name.clone()),
                size: read.size.or(file.size),
                version: read.version.or_else(|| file.version.clone()),
                file_id,
            },
            bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_disposition_names_are_read_in_both_forms() {
        let cases = [
            ("attachment; filename=\"report.pdf\"", Some("report.pdf")),
            ("attachment; filename=report.pdf", Some("report.pdf")),
            (
                "attachment; filename=\"x.txt\"; filename*=UTF-8''na%C3%AFve%20caf%C3%A9.txt",
                Some("naïve café.txt"),
            ),
            (
                "attachment; FILENAME=\"a \\\"b\\\".txt\"",
                Some("a \"b\".txt"),
            ),
            (
                "attachment; filename=\"../../etc/passwd\"",
                Some("../../etc/passwd"),
            ),
            ("attachment", None),
            ("attachment; filename=\"\"", None),
            (
                "attachment; filename*=UTF-8''%ZZ; filename=\"ok.txt\"",
                Some("ok.txt"),
            ),
        ];
        for (header, expected) in cases {
            assert_eq!(
                disposition_filename(header).as_deref(),
                expected,
                "{header}"
            );
        }
    }

    #[test]
    fn statuses_say_whether_retrying_helps() {
        let file_id = FileId::new(12345).unwrap();
        let permanent = |code: u16| {
            status_error(file_id, StatusCode::from_u16(code).unwrap()).map(|e| e.is_permanent())
        };
        assert_eq!(permanent(200), None);
        assert_eq!(permanent(206), None);
        for code in [400, 401, 403, 404, 410, 451] {
            assert_eq!(permanent(code), Some(true), "{code}");
        }
        for code in [408, 429, 500, 502, 503, 504] {
            assert_eq!(permanent(code), Some(false), "{code}");
        }
    }

    #[test]
    fn urls_come_from_the_template_and_redirects_keep_the_site() {
        let id = FileId::new(12345).unwrap();
        let url = url_for("http://files.internal/v1/{file_id}/content", id).unwrap();
        assert_eq!(url.as_str(), "http://files.internal/v1/12345/content");
        let a = Url::parse("http://files.internal/a").unwrap();
        assert!(same_site(
            &a,
            &Url::parse("http://files.internal:80/b").unwrap()
        ));
        assert!(!same_site(
            &a,
            &Url::parse("https://files.internal/a").unwrap()
        ));
        assert!(!same_site(
            &a,
            &Url::parse("http://evil.example/a").unwrap()
        ));
    }
}
