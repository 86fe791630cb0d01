//! Conditional answers: a strong `ETag` over the exact bytes of a JSON answer, and `304 Not
//! Modified` with no body when the client already holds them (`If-None-Match`).
//!
//! The tag is a hash of the serialized body, so it changes whenever anything the client would
//! see changes (progress, state, a freshly signed link) and never otherwise; no version counter
//! has to be kept in step with the record. Answers with a tag are sent uncompressed (see
//! [`is_tagged`]): a strong tag names one sequence of bytes, and a status answer is a few hundred
//! bytes that gzip would barely shrink.

use axum::{
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The tag of `bytes`: the first 128 bits of their SHA-256, quoted as RFC 9110 wants.
pub fn entity_tag(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    format!("\"{}\"", hex::encode(&digest[..16]))
}

/// Whether an `If-None-Match` value names `tag` (or is `*`). The comparison is the weak one RFC
/// 9110 prescribes for `If-None-Match`: a `W/` prefix is ignored.
pub fn none_match_hits(if_none_match: &str, tag: &str) -> bool {
    if_none_match.split(',').map(str::trim).any(|candidate| {
        candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == tag
    })
}

/// `body` as JSON with its `ETag`, or an empty `304` if the request's `If-None-Match` names that
/// tag; `retry_after` (seconds) goes on both, so a client knows when to ask again either way.
/// The answer is never stored by caches (`no-store`): it may hold a signed link.
pub fn json<T: Serialize>(request: &HeaderMap, body: &T, retry_after: Option<u64>) -> Response {
    let bytes = serde_json::to_vec(body).expect("API bodies serialize");
    let tag = entity_tag(&bytes);
    let unchanged = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|value| none_match_hits(value, &tag));
    let mut response = if unchanged {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            bytes,
        )
            .into_response()
    };
    let headers = response.headers_mut();
    headers.insert(
        header::ETAG,
        HeaderValue::from_str(&tag).expect("hex in quotes is a valid header"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(secs) = retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// Whether a response carries a tag of its exact bytes (and must therefore not be re-encoded).
pub fn is_tagged(headers: &HeaderMap) -> bool {
    headers.contains_key(header::ETAG)
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
