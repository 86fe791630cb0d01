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
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::io::Write;

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
pub fn json<T: Serialize>(request: &HeaderMap, body: &T, retry_after: Option<u64>) -> Response {
    let identity = serde_json::to_vec(body).expect("API bodies serialize");
    let identity_tag = entity_tag(&identity);
    let encoded = super::negotiate::accepts_gzip(request);
    let tag = if encoded {
        gzip_tag(&identity_tag)
    } else {
        identity_tag.clone()
    };
    let unchanged = request
        .get(header::IF_NONE_MATCH)
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
