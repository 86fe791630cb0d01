//! Conditional answers: a strong `ETag` over the exact bytes of a JSON answer, and `304 Not
//! Modified` with no body when the client already holds them (`If-None-Match`).
//!
//! The tag is a hash of the serialized body, so it changes whenever anything the client would
//! see changes (progress, state, a freshly signed link) and never otherwise; no version counter
//! has to be kept in step with the record. A strong tag names one sequence of bytes, so the
//! gzip-encoded form (sent when the client accepts it) has a tag of its own, `"<hash>-gzip"`, and
//! is compressed here rather than by the router's compression layer (which leaves an answer that
//! has a `Content-Encoding` alone). Either tag of the same content matches in `If-None-Match`.

use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::{convert::Infallible, io::Write};

/// What a request says about the answers it can use: the tags it holds (`If-None-Match`) and
/// whether it takes gzip. An extractor of its own because axum's `HeaderMap` extractor copies
/// every header of the request, and a status poll needs two.
pub struct Preconditions {
    if_none_match: Option<HeaderValue>,
    accepts_gzip: bool,
}

impl Preconditions {
    /// The preconditions `headers` state.
    pub fn of(headers: &HeaderMap) -> Self {
        Self {
            if_none_match: headers.get(header::IF_NONE_MATCH).cloned(),
            accepts_gzip: super::negotiate::accepts_gzip(headers),
        }
    }
}

impl<S: Sync> FromRequestParts<S> for Preconditions {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        Ok(Self::of(&parts.headers))
    }
}

/// About how many headers a status answer leaves with, its own and the router's.
const ANSWER_HEADERS: usize = 20;

/// The tag of `bytes`: the first 128 bits of their SHA-256, quoted as RFC 9110 wants.
pub fn entity_tag(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    format!("\"{}\"", hex::encode(&digest[..16]))
}

/// The tag of the gzip-encoded form of the content tagged `tag`.
fn gzip_tag(tag: &str) -> String {
    format!("{}-gzip\"", tag.trim_end_matches('"'))
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("writing to memory");
    encoder.finish().expect("writing to memory")
}

/// Whether an `If-None-Match` value names `tag` (or is `*`). The comparison is the weak one RFC
/// 9110 prescribes for `If-None-Match`: a `W/` prefix is ignored.
pub fn none_match_hits(if_none_match: &str, tag: &str) -> bool {
    if_none_match.split(',').map(str::trim).any(|candidate| {
        candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == tag
    })
}

/// `body` as JSON with its `ETag` (gzip-encoded when the request accepts it), or an empty `304`
/// if the request's `If-None-Match` names a tag of the same content; `retry_after` (seconds) goes
/// on both, so a client knows when to ask again either way. The answer is never stored by caches
/// (`no-store`): it may hold a signed link.
pub fn json<T: Serialize>(request: &Preconditions, body: &T, retry_after: Option<u64>) -> Response {
    let identity = serde_json::to_vec(body).expect("API bodies serialize");
    let identity_tag = entity_tag(&identity);
    let encoded = request.accepts_gzip;
    let tag = if encoded {
        gzip_tag(&identity_tag)
    } else {
        identity_tag.clone()
    };
    let unchanged = request
        .if_none_match
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .is_some_and(|value| {
            none_match_hits(value, &identity_tag)
                || none_match_hits(value, &gzip_tag(&identity_tag))
        });
    let mut response = if unchanged {
        StatusCode::NOT_MODIFIED.into_response()
    } else if encoded {
        let mut response = (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            gzip(&identity),
        )
            .into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        response
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            identity,
        )
            .into_response()
    };
    let headers = response.headers_mut();
    // Room for the headers the layers around every route add (request id, security, rate
    // limit, CORS): without it the map grows, and rehashes, twice per answer.
    headers.reserve(ANSWER_HEADERS);
    headers.insert(
        header::ETAG,
        HeaderValue::from_str(&tag).expect("hex in quotes is a valid header"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Some(secs) = retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_strong_quoted_and_follow_the_bytes() {
        let a = entity_tag(br#"{"progress":40}"#);
        assert_eq!(a.len(), 34);
        assert!(a.starts_with('"') && a.ends_with('"'));
        assert_eq!(a, entity_tag(br#"{"progress":40}"#));
        assert_ne!(a, entity_tag(br#"{"progress":41}"#));
    }

    #[test]
    fn the_gzip_form_has_a_tag_of_its_own() {
        assert_eq!(gzip_tag("\"abc\""), "\"abc-gzip\"");
    }

    #[test]
    fn if_none_match_lists_wildcards_and_weak_forms_match() {
        let tag = "\"abc\"";
        assert!(none_match_hits("\"abc\"", tag));
        assert!(none_match_hits("\"x\", \"abc\"", tag));
        assert!(none_match_hits("W/\"abc\"", tag));
        assert!(none_match_hits("*", tag));
        assert!(!none_match_hits("\"abd\"", tag));
        assert!(!none_match_hits("abc", tag));
        assert!(!none_match_hits("", tag));
    }
}
