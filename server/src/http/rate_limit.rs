//! Rate limiting per client address, with the `ratelimit-*` headers of the IETF draft on every
//! response.
//!
//! The limit is `RATE_LIMIT_MAX_REQUESTS` per `RATE_LIMIT_WINDOW_MS`, enforced by `governor`'s
//! GCRA: a client may spend the whole allowance at once, and it refills evenly over the window
//! (no cliff at a window boundary where a client could send twice the limit).
//!
//! It works in two steps. [`decide`] runs outside CORS, so every response — preflights included —
//! gets the headers; when a client is over its limit it only marks the request. [`enforce`] runs
//! inside the CORS and error-body layers and turns a marked request into a `429`, so the refusal
//! carries the JSON error body and the CORS headers a browser needs to read it.

use crate::{config::HttpSettings, error::AppError};
use axum::{
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, HeaderValue},
    middleware::Next,
    response::{IntoResponse, Response},
};
use governor::{
    clock::{Clock, DefaultClock},
    middleware::StateInformationMiddleware,
    state::keyed::DefaultKeyedStateStore,
    Quota, RateLimiter,
};
use ipnet::IpNet;
use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    num::NonZeroU32,
    sync::Arc,
    time::Duration,
};

type Limiter =
    RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, DefaultClock, StateInformationMiddleware>;

/// The per-client limiter and what the headers say about it.
#[derive(Clone)]
pub struct ClientRateLimit {
    limiter: Arc<Limiter>,
    /// `ratelimit-limit`: requests per window.
    max_requests: u32,
    /// Time for one spent request to be available again (window / max requests).
    refill_per_request: Duration,
    /// Peers allowed to name the client in `X-Forwarded-For`.
    trusted_proxies: Arc<[IpNet]>,
}

/// Marks a request whose client is over its limit; [`enforce`] refuses it.
#[derive(Debug, Clone, Copy)]
struct OverLimit {
    retry_after_secs: u64,
}

impl ClientRateLimit {
    /// A limiter for the configured policy.
    pub fn new(settings: &HttpSettings) -> Self {
        let max_requests = settings.rate_limit_max_requests.max(1);
        let refill_per_request =
            (settings.rate_limit_window / max_requests).max(Duration::from_nanos(1));
        let quota = Quota::with_period(refill_per_request)
            .expect("the period is at least 1 ns")
            .allow_burst(NonZeroU32::new(max_requests).expect("at least 1"));
        Self {
            limiter: Arc::new(RateLimiter::keyed(quota).with_middleware()),
            max_requests,
            refill_per_request,
            trusted_proxies: settings.trusted_proxies.clone().into(),
        }
    }

    /// Forgets clients whose allowance is full again, so the table does not grow without bound.
    pub fn forget_idle_clients(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }

    /// The client a request comes from: the first `X-Forwarded-For` hop when the peer is a
    /// trusted proxy, else the peer itself. Requests without a socket (in-process tests) count as
    /// loopback.
    pub fn client_of(&self, request: &Request) -> IpAddr {
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |info| info.0.ip());
        if !self.trusted_proxies.iter().any(|net| net.contains(&peer)) {
            return peer;
        }
        forwarded_client(request.headers()).unwrap_or(peer)
    }

    /// Seconds until `remaining` spent requests have refilled, rounded up.
    fn seconds_to_refill(&self, spent: u32) -> u64 {
        (self.refill_per_request * spent).as_secs_f64().ceil() as u64
    }
}

/// The first address of `X-Forwarded-For` (the client, as the first proxy saw it).
fn forwarded_client(headers: &HeaderMap) -> Option<IpAddr> {
    let first = headers
        .get("x-forwarded-for")?
        .to_str()
        .ok()?
        .split(',')
        .next()?
        .trim();
    first
        .parse::<IpAddr>()
        .ok()
        .or_else(|| first.parse::<SocketAddr>().ok().map(|a| a.ip()))
}

/// Counts the request against its client and puts the `ratelimit-*` headers on the response.
pub async fn decide(
    State(limit): State<ClientRateLimit>,
    mut request: Request,
    next: Next,
) -> Response {
    let client = limit.client_of(&request);
    let (remaining, reset_secs) = match limit.limiter.check_key(&client) {
        Ok(snapshot) => {
            let remaining = snapshot.remaining_burst_capacity();
            (
                remaining,
                limit.seconds_to_refill(limit.max_requests - remaining),
            )
        }
        Err(not_until) => {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let retry_after_secs = wait.as_secs_f64().ceil().max(1.0) as u64;
            request
                .extensions_mut()
                .insert(OverLimit { retry_after_secs });
            (0, limit.seconds_to_refill(limit.max_requests))
        }
    };
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert("ratelimit-limit", HeaderValue::from(limit.max_requests));
    headers.insert("ratelimit-remaining", HeaderValue::from(remaining));
    headers.insert("ratelimit-reset", HeaderValue::from(reset_secs));
    response
}

/// Refuses a request [`decide`] marked as over the limit.
pub async fn enforce(request: Request, next: Next) -> Response {
    match request.extensions().get::<OverLimit>() {
        Some(over) => AppError::RateLimited {
            retry_after_secs: over.retry_after_secs,
        }
        .into_response(),
        None => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn settings(max: u32, window_ms: u64, proxies: &str) -> HttpSettings {
        HttpSettings {
            cors_origins: None,
            rate_limit_max_requests: max,
            rate_limit_window: Duration::from_millis(window_ms),
            trusted_proxies: proxies
                .split(',')
                .filter(|p| !p.is_empty())
                .map(|p| p.parse().unwrap())
                .collect(),
            max_queue_depth: 10,
        }
    }

    fn request(peer: &str, forwarded: Option<&str>) -> Request {
        let mut builder = Request::builder().uri("/");
        if let Some(value) = forwarded {
            builder = builder.header("x-forwarded-for", value);
        }
        let mut request = builder.body(Body::empty()).unwrap();
        request
            .extensions_mut()
            .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        request
    }

    #[test]
    fn the_forwarded_client_counts_only_behind_a_trusted_proxy() {
        let limit = ClientRateLimit::new(&settings(5, 1000, "10.0.0.0/8"));
        let behind_proxy = request("10.1.2.3:5000", Some("203.0.113.7, 10.1.2.3"));
        assert_eq!(
            limit.client_of(&behind_proxy),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
        let spoofing = request("198.51.100.9:5000", Some("203.0.113.7"));
        assert_eq!(
            limit.client_of(&spoofing),
            "198.51.100.9".parse::<IpAddr>().unwrap()
        );
        let garbage = request("10.1.2.3:5000", Some("not an address"));
        assert_eq!(
            limit.client_of(&garbage),
            "10.1.2.3".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn reset_is_the_time_to_refill_what_was_spent() {
        let limit = ClientRateLimit::new(&settings(10, 60_000, ""));
        assert_eq!(limit.seconds_to_refill(0), 0);
        assert_eq!(limit.seconds_to_refill(1), 6);
        assert_eq!(limit.seconds_to_refill(10), 60);
    }
}
