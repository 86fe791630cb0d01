//! The `Content-Security-Policy` of Ferry's HTML pages: only our own scripts run.
//!
//! The page's inline hydration script carries a nonce drawn for each response (Leptos' `nonce`
//! feature: [`leptos::nonce::provide_nonce`] puts it in the render's context and the hydration
//! scripts write it into their tags); the policy names the same nonce, so an injected script —
//! which cannot know it — never runs. `'wasm-unsafe-eval'` lets the page compile its WebAssembly
//! and nothing else; the page may connect to Ferry itself and to the S3 endpoint the download
//! links point at. Nothing may frame the page, and forms and `<base>` cannot send it elsewhere.

use axum::http::{header, HeaderValue};
use leptos::prelude::use_context;

/// The policy for this deployment; [`ContentSecurityPolicy::for_nonce`] fills in one response's
/// nonce.
#[derive(Debug, Clone)]
pub struct ContentSecurityPolicy {
    /// `connect-src` beyond `'self'`: the results' S3 origin, the dev server's reload socket.
    extra_connect_sources: Vec<String>,
}

/// The policy of pages without scripts (the HTML 404): they need their stylesheet only.
pub const STATIC_PAGE_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

impl ContentSecurityPolicy {
    /// `s3_endpoint`: where download links point (`S3_PUBLIC_ENDPOINT`, else `S3_ENDPOINT`; AWS
    /// itself when S3 is used without an endpoint). `live_reload`: `cargo leptos watch` is
    /// running and the page opens its reload WebSocket.
    pub fn new(s3_endpoint: Option<S3Endpoint<'_>>, live_reload: bool) -> Self {
        let mut extra_connect_sources = Vec::new();
        match s3_endpoint {
            Some(S3Endpoint::Url(url)) => extra_connect_sources.extend(origin_of(url)),
            Some(S3Endpoint::Aws) => extra_connect_sources.push("https://*.amazonaws.com".into()),
            None => {}
        }
        if live_reload {
            extra_connect_sources.push("ws:".into());
        }
        Self {
            extra_connect_sources,
        }
    }

    /// The header value for a page whose scripts carry `nonce`.
    pub fn for_nonce(&self, nonce: &str) -> String {
        let mut connect = String::from("'self'");
        for source in &self.extra_connect_sources {
            connect.push(' ');
            connect.push_str(source);
        }
        format!(
            "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
             style-src 'self'; img-src 'self' data:; connect-src {connect}; object-src 'none'; \
             base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        )
    }

    /// Draws this render's nonce and sets the response's header to a policy naming it. Call at
    /// the start of the shell, inside Leptos' server render.
    pub fn apply_to_render(&self) {
        leptos::nonce::provide_nonce();
        let Some(nonce) = leptos::nonce::use_nonce() else {
            return;
        };
        let Some(response) = use_context::<leptos_axum::ResponseOptions>() else {
            return;
        };
        match HeaderValue::from_str(&self.for_nonce(&nonce)) {
            Ok(value) => response.insert_header(header::CONTENT_SECURITY_POLICY, value),
            // Only an S3 endpoint with odd characters could do this; say so rather than serve
            // the page unprotected without a word.
            Err(error) => {
                tracing::error!(%error, "the Content-Security-Policy is not a valid header")
            }
        }
    }
}

/// Where the result store's download links point.
#[derive(Debug, Clone, Copy)]
pub enum S3Endpoint<'a> {
    Url(&'a str),
    Aws,
}

/// `scheme://host[:port]` of a URL; `None` if it has no such prefix.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    (!authority.is_empty()).then(|| format!("{scheme}://{authority}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_names_the_nonce_and_the_s3_origin() {
        let policy = ContentSecurityPolicy::new(
            Some(S3Endpoint::Url("http://localhost:9000/some/path")),
            false,
        );
        let value = policy.for_nonce("abc123");
        assert!(value.contains("script-src 'self' 'nonce-abc123' 'wasm-unsafe-eval';"));
        assert!(value.contains("connect-src 'self' http://localhost:9000;"));
        assert!(value.contains("frame-ancestors 'none'"));
        assert!(!value.contains("unsafe-inline"));
        let aws = ContentSecurityPolicy::new(Some(S3Endpoint::Aws), true).for_nonce("n");
        assert!(aws.contains("connect-src 'self' https://*.amazonaws.com ws:;"));
        let local = ContentSecurityPolicy::new(None, false).for_nonce("n");
        assert!(local.contains("connect-src 'self';"));
    }

    #[test]
    fn origins_drop_paths_and_credentials() {
        assert_eq!(
            origin_of("https://user:pw@s3.example:8443/b?x").as_deref(),
            Some("https://s3.example:8443")
        );
        assert_eq!(origin_of("not a url"), None);
    }
}
