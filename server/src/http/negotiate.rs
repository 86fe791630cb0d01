//! Content negotiation: what a request's `Accept` and `Accept-Encoding` ask for.
//!
//! Both headers are lists of `name;q=<weight>`; [`weighted`] reads them once, the same way for
//! both, and the two questions Ferry asks are answered from it.

use axum::http::{header, HeaderMap, HeaderName};

/// The entries of every `name` header of `headers`: each name (lower-cased) with its quality
/// (`q`, 1 when absent, clamped to 0–1). Entries a client wrote badly are read as best they can
/// be: an unreadable header counts as absent, an unreadable `q` as 1.
fn weighted<'a>(
    headers: &'a HeaderMap,
    name: HeaderName,
) -> impl Iterator<Item = (String, f32)> + 'a {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|entry| {
            let mut parts = entry.split(';');
            let value = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let quality = parts
                .filter_map(|p| {
                    let p = p.trim();
                    p.strip_prefix("q=").or_else(|| p.strip_prefix("Q="))
                })
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0)
                .clamp(0.0, 1.0);
            (value, quality)
        })
}

/// Whether a request asks for HTML before JSON: it names `text/html` (or XHTML) itself, with a
/// quality at least that of the best range JSON would match. A bare `*/*` (curl, fetch, most
/// HTTP libraries) and a missing header are answered with JSON; browsers name `text/html` first.
pub fn prefers_html(headers: &HeaderMap) -> bool {
    let mut html = None::<f32>;
    let mut json = 0f32;
    for (media, quality) in weighted(headers, header::ACCEPT) {
        match media.as_str() {
            "text/html" | "application/xhtml+xml" => {
                html = Some(html.map_or(quality, |h| h.max(quality)));
            }
            "application/json" | "application/*" | "*/*" => json = json.max(quality),
            _ => {}
        }
    }
    html.is_some_and(|html| html > 0.0 && html >= json)
}

/// Whether a request accepts a gzip-encoded answer (`Accept-Encoding` names `gzip` or `*` with
/// a quality above 0).
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    weighted(headers, header::ACCEPT_ENCODING)
        .any(|(coding, quality)| (coding == "gzip" || coding == "*") && quality > 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(name: HeaderName, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn browsers_get_html_and_everything_else_json() {
        let accepts = |value| with(header::ACCEPT, value);
        let chromium = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7";
        let firefox = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        assert!(prefers_html(&accepts(chromium)));
        assert!(prefers_html(&accepts(firefox)));
        assert!(prefers_html(&accepts("text/html")));
        assert!(!prefers_html(&HeaderMap::new()));
        assert!(!prefers_html(&accepts("*/*")));
        assert!(!prefers_html(&accepts("application/json")));
        assert!(!prefers_html(&accepts("application/json, text/html;q=0.5")));
        assert!(!prefers_html(&accepts("text/html;q=0")));
        assert!(!prefers_html(&accepts("text/plain")));
        // Hostile or broken lists are read, never trusted beyond what they say.
        assert!(prefers_html(&accepts("text/html;q=banana")));
        assert!(!prefers_html(&accepts("text/html;q=-5, */*")));
        assert!(!prefers_html(&accepts(&",;".repeat(4_000))));
    }

    #[test]
    fn gzip_is_accepted_unless_refused() {
        let accepting = |value| with(header::ACCEPT_ENCODING, value);
        assert!(accepts_gzip(&accepting("gzip, deflate, br, zstd")));
        assert!(accepts_gzip(&accepting("GZIP")));
        assert!(accepts_gzip(&accepting("*")));
        assert!(!accepts_gzip(&accepting("br;q=1, gzip;q=0")));
        assert!(!accepts_gzip(&accepting("identity")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
