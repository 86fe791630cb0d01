//! The HTTP layer's policies: CORS, the rate-limit budgets, trusted proxies, backpressure and
//! connection limits.

use super::{variables::*, ConfigError, Vars};
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

impl HttpSettings {
    pub(super) fn from_vars(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        let cors = vars.text(&CORS_ORIGINS);
        let cors_origins = if cors == "*" {
            None
        } else {
            let origins: Vec<String> = cors
                .split(',')
                .map(|o| o.trim().trim_end_matches('/').to_owned())
                .filter(|o| !o.is_empty())
                .collect();
            let well_formed = !origins.is_empty()
                && origins.iter().all(|o| {
                    (o.starts_with("http://") || o.starts_with("https://"))
                        && axum::http::HeaderValue::from_str(o).is_ok()
                });
            vars.check(&CORS_ORIGINS, &cors, well_formed)?;
            Some(origins)
        };
        let proxies = vars.text(&TRUSTED_PROXIES);
        let trusted_proxies = proxies
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty() && *p != "none")
            .map(|p| {
                p.parse::<ipnet::IpNet>()
                    .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        let reason = format!("{p:?} is neither an IP address nor a CIDR range");
                        vars.invalid(
                            &TRUSTED_PROXIES,
                            &proxies,
                            reason + " (use none to trust no proxy)",
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            connection_limits: crate::http::serve::ConnectionLimits {
                header_timeout: vars.duration(&HTTP_HEADER_TIMEOUT_MS)?,
                max_connections: vars.number(&HTTP_MAX_CONNECTIONS)?,
            },
            cors_origins,
            rate_limit: RateBudget {
                max_requests: vars.number(&RATE_LIMIT_MAX_REQUESTS)?,
                window: vars.duration(&RATE_LIMIT_WINDOW_MS)?,
            },
            initiate_rate_limit: RateBudget {
                max_requests: vars.number(&INITIATE_RATE_LIMIT_MAX_REQUESTS)?,
                window: vars.duration(&INITIATE_RATE_LIMIT_WINDOW_MS)?,
            },
            trusted_proxies,
            max_queue_depth: vars.number(&MAX_QUEUE_DEPTH)?,
        })
    }
}
