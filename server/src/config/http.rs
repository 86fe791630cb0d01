//! The HTTP layer's policies: CORS, the rate-limit budgets, trusted proxies, backpressure and
//! connection limits.

use super::{ConfigError, Vars};
use std::time::Duration;

/// Policies of the HTTP layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSettings {
    /// Origins allowed to call the API from a browser (`CORS_ORIGINS`); `None` allows any (`*`).
    pub cors_origins: Option<Vec<String>>,
    /// What one client may read: status, check, the page (`RATE_LIMIT_*`).
    pub rate_limit: RateBudget,
    /// How many jobs one client may start (`INITIATE_RATE_LIMIT_*`): each costs a worker's time,
    /// so this allowance is much smaller than the one for reads.
    pub initiate_rate_limit: RateBudget,
    /// Peers whose `X-Forwarded-*` headers are believed (`TRUSTED_PROXIES`): the proxies in
    /// front of Ferry. Any other peer is the client itself, whatever header it sends.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Waiting jobs (queued or retrying) beyond which initiate answers 503 (`MAX_QUEUE_DEPTH`).
    pub max_queue_depth: u64,
    /// What one connection may cost: its header deadline and the cap on open connections.
    pub connection_limits: crate::http::serve::ConnectionLimits,
}

/// A request allowance: `max_requests` per `window`, refilling evenly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateBudget {
    pub max_requests: u32,
    pub window: Duration,
}

/// Requests per client and window when nothing is configured: a tab following five downloads
/// polls 150 times a minute, so 600 leaves room for several tabs behind one address.
pub const DEFAULT_RATE_LIMIT_MAX_REQUESTS: u32 = 600;

/// Jobs a client may start per window when nothing is configured: a person clicking Download,
/// even quickly, starts a few a minute; a script that starts more should say so in the config.
pub const DEFAULT_INITIATE_RATE_LIMIT_MAX_REQUESTS: u32 = 30;

/// Proxies trusted by default: this host only. A deployment names its own proxies (compose sets
/// nginx's address); trusting whole private ranges would let any machine in them speak for
/// anyone.
pub const DEFAULT_TRUSTED_PROXIES: &str = "127.0.0.0/8,::1/128";

impl HttpSettings {
    pub(super) fn from_vars(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        let cors_origins = match vars.get("CORS_ORIGINS") {
            None => None,
            Some(value) if value.trim() == "*" => None,
            Some(value) => {
                let origins: Vec<String> = value
                    .split(',')
                    .map(|o| o.trim().trim_end_matches('/').to_owned())
                    .filter(|o| !o.is_empty())
                    .collect();
                let well_formed = !origins.is_empty()
                    && origins.iter().all(|o| {
                        (o.starts_with("http://") || o.starts_with("https://"))
                            && axum::http::HeaderValue::from_str(o).is_ok()
                    });
                vars.check(
                    "CORS_ORIGINS",
                    &value,
                    well_formed,
                    "use * or a comma-separated list of origins such as https://app.example.com",
                )?;
                Some(origins)
            }
        };
        let rate_limit = rate_budget(
            vars,
            "RATE_LIMIT_MAX_REQUESTS",
            DEFAULT_RATE_LIMIT_MAX_REQUESTS,
            "RATE_LIMIT_WINDOW_MS",
        )?;
        let initiate_rate_limit = rate_budget(
            vars,
            "INITIATE_RATE_LIMIT_MAX_REQUESTS",
            DEFAULT_INITIATE_RATE_LIMIT_MAX_REQUESTS,
            "INITIATE_RATE_LIMIT_WINDOW_MS",
        )?;
        let proxies = vars
            .get("TRUSTED_PROXIES")
            .unwrap_or_else(|| DEFAULT_TRUSTED_PROXIES.into());
        let trusted_proxies = proxies
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty() && *p != "none")
            .map(|p| {
                p.parse::<ipnet::IpNet>()
                    .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| ConfigError::Invalid {
                        name: "TRUSTED_PROXIES",
                        value: proxies.clone(),
                        reason: format!("{p:?} is neither an IP address nor a CIDR range (use none to trust no proxy)"),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let max_queue_depth: u64 = vars.parse("MAX_QUEUE_DEPTH", 10_000)?;
        vars.check(
            "MAX_QUEUE_DEPTH",
            max_queue_depth,
            max_queue_depth >= 1,
            "use at least 1",
        )?;
        let header_timeout_ms: u64 = vars.parse("HTTP_HEADER_TIMEOUT_MS", 10_000)?;
        vars.check(
            "HTTP_HEADER_TIMEOUT_MS",
            header_timeout_ms,
            (100..=300_000).contains(&header_timeout_ms),
            "use 100 ms to 5 minutes",
        )?;
        let max_connections: usize = vars.parse("HTTP_MAX_CONNECTIONS", 10_000)?;
        vars.check(
            "HTTP_MAX_CONNECTIONS",
            max_connections,
            (1..=1_000_000).contains(&max_connections),
            "use 1 to 1000000",
        )?;
        Ok(Self {
            connection_limits: crate::http::serve::ConnectionLimits {
                header_timeout: Duration::from_millis(header_timeout_ms),
                max_connections,
            },
            cors_origins,
            rate_limit,
            initiate_rate_limit,
            trusted_proxies,
            max_queue_depth,
        })
    }
}

/// A budget of `max_name` requests (default `default_max`) per `window_name` ms (default a
/// minute).
fn rate_budget(
    vars: &Vars<'_>,
    max_name: &'static str,
    default_max: u32,
    window_name: &'static str,
) -> Result<RateBudget, ConfigError> {
    let max_requests: u32 = vars.parse(max_name, default_max)?;
    vars.check(max_name, max_requests, max_requests >= 1, "use at least 1")?;
    let window_ms: u64 = vars.parse(window_name, 60_000)?;
    vars.check(
        window_name,
        window_ms,
        (1..=86_400_000).contains(&window_ms),
        "use 1 ms to 1 day",
    )?;
    Ok(RateBudget {
        max_requests,
        window: Duration::from_millis(window_ms),
    })
}
