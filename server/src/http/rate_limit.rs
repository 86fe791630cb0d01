//! Rate limiting per client, with the `ratelimit-*` headers of the IETF draft on every response.
//!
//! Two budgets, each per [`ClientId`]: creating jobs (initiate, `INITIATE_RATE_LIMIT_*`) is much
//! dearer than reading (status, check, the page: `RATE_LIMIT_*`), so it gets its own, smaller
//! allowance, and a client that polls a lot can still start a download. Each is enforced by
//! `governor`'s GCRA: a client may spend the whole allowance at once, and it refills evenly over
//! the window (no cliff at a window boundary where a client could send twice the limit).
//!
//! It works in two steps. [`decide`] runs outside CORS, so every response — preflights included —
//! gets the headers; when a client is over its limit it only marks the request. [`enforce`] runs
//! inside the CORS and error-body layers and turns a marked request into a `429`, so the refusal
//! carries the JSON error body and the CORS headers a browser needs to read it.

use super::client::{Caller, ClientId};
use crate::{
    config::{HttpSettings, RateBudget},
    error::AppError,
};
use axum::{
    extract::{Request, State},
    http::{HeaderValue, Method},
    middleware::Next,
    response::{IntoResponse, Response},
};
use governor::{
    clock::{Clock, DefaultClock},
    middleware::StateInformationMiddleware,
    state::keyed::DefaultKeyedStateStore,
    Quota, RateLimiter,
};
use std::{num::NonZeroU32, sync::Arc, time::Duration};

type Limiter = RateLimiter<
    ClientId,
    DefaultKeyedStateStore<ClientId>,
    DefaultClock,
    StateInformationMiddleware,
>;

/// One allowance per client, and what the headers say about it.
struct Budget {
    limiter: Limiter,
    /// `ratelimit-limit`: requests per window.
    max_requests: u32,
    /// Time for one spent request to be available again (window / max requests).
    refill_per_request: Duration,
}

impl Budget {
    fn new(budget: RateBudget) -> Self {
        let max_requests = budget.max_requests.max(1);
        let refill_per_request = (budget.window / max_requests).max(Duration::from_nanos(1));
        let quota = Quota::with_period(refill_per_request)
            .expect("the period is at least 1 ns")
            .allow_burst(NonZeroU32::new(max_requests).expect("at least 1"));
        Self {
            limiter: RateLimiter::keyed(quota).with_middleware(),
            max_requests,
            refill_per_request,
        }
    }

    /// Seconds until `spent` requests have refilled, rounded up.
    fn seconds_to_refill(&self, spent: u32) -> u64 {
        (self.refill_per_request * spent).as_secs_f64().ceil() as u64
    }
}

/// The per-client limiters, shared by every request.
#[derive(Clone)]
pub struct ClientRateLimit {
    reads: Arc<Budget>,
    initiates: Arc<Budget>,
}

/// Marks a request whose client is over its limit; [`enforce`] refuses it.
#[derive(Debug, Clone, Copy)]
struct OverLimit {
    retry_after_secs: u64,
}

impl ClientRateLimit {
    /// Limiters for the configured budgets.
    pub fn new(settings: &HttpSettings) -> Self {
        Self {
            reads: Arc::new(Budget::new(settings.rate_limit)),
            initiates: Arc::new(Budget::new(settings.initiate_rate_limit)),
        }
    }

    /// Forgets clients whose allowance is full again, so the tables do not grow without bound.
    pub fn forget_idle_clients(&self) {
        for budget in [&self.reads, &self.initiates] {
            budget.limiter.retain_recent();
            budget.limiter.shrink_to_fit();
        }
        crate::metrics::rate_limited_clients(self.tracked_clients());
    }

    /// Clients the limiters remember now (both budgets): what `/metrics` reports, so an operator
    /// sees the table stay small however many addresses clients claim to have.
    pub fn tracked_clients(&self) -> usize {
        self.reads.limiter.len() + self.initiates.limiter.len()
    }

    /// Which allowance a request spends: creating a job, or anything else.
    fn budget_for(&self, request: &Request) -> &Budget {
        if request.method() == Method::POST && request.uri().path() == super::initiate::PATH {
            &self.initiates
        } else {
            &self.reads
        }
    }
}

/// Counts the request against its client and puts the `ratelimit-*` headers on the response.
pub async fn decide(
    State(limit): State<ClientRateLimit>,
    mut request: Request,
    next: Next,
) -> Response {
    let client = request
        .extensions()
        .get::<Caller>()
        .expect("client::identify runs before the rate limit")
        .client;
    let budget = limit.budget_for(&request);
    let (remaining, reset_secs) = match budget.limiter.check_key(&client) {
        Ok(snapshot) => {
            let remaining = snapshot.remaining_burst_capacity();
            (
                remaining,
                budget.seconds_to_refill(budget.max_requests - remaining),
            )
        }
        Err(not_until) => {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let retry_after_secs = wait.as_secs_f64().ceil().max(1.0) as u64;
            request
                .extensions_mut()
                .insert(OverLimit { retry_after_secs });
            (0, budget.seconds_to_refill(budget.max_requests))
        }
    };
    let max_requests = budget.max_requests;
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert("ratelimit-limit", HeaderValue::from(max_requests));
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

    #[test]
    fn reset_is_the_time_to_refill_what_was_spent() {
        let budget = Budget::new(RateBudget {
            max_requests: 10,
            window: Duration::from_secs(60),
        });
        assert_eq!(budget.seconds_to_refill(0), 0);
        assert_eq!(budget.seconds_to_refill(1), 6);
        assert_eq!(budget.seconds_to_refill(10), 60);
    }
}
