//! Rate limiting per client, with the `ratelimit-*` headers of the IETF draft on every response.
//!
//! Three budgets, each per [`ClientId`]: creating jobs (initiate, `INITIATE_RATE_LIMIT_*`) is much
//! dearer than reading (status, check, the page: `RATE_LIMIT_*`), so it gets its own, smaller
//! allowance, and a client that polls a lot can still start a download. Signing in to the
//! operator console gets the smallest ([`SIGN_IN_BUDGET`]), so its token cannot be guessed. Each is enforced by
//! `governor`'s GCRA: a client may spend the whole allowance at once, and it refills evenly over
//! the window (no cliff at a window boundary where a client could send twice the limit).
//!
//! It works in two steps. [`Decide`] runs outside CORS, so every response — preflights included —
//! gets the headers; when a client is over its limit it only marks the request. [`Enforce`] runs
//! inside the CORS and error-body layers and turns a marked request into a `429`, so the refusal
//! carries the JSON error body and the CORS headers a browser needs to read it.

use super::{
    around::Around,
    client::{Caller, ClientId},
};
use crate::{
    config::{HttpSettings, RateBudget},
    error::AppError,
};
use axum::{
    extract::Request,
    http::{header, HeaderValue, Method, StatusCode},
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

/// What one answer costs, in the limiter's cells: a full answer spends [`FULL_ANSWER_CELLS`],
/// a `304 Not Modified` (a poll whose `If-None-Match` still names the current answer, with no
/// body to build or send) [`NOT_MODIFIED_CELLS`], a quarter of that. A budget of `N` requests is
/// `N` full answers, or four times as many polls that find nothing new.
pub const FULL_ANSWER_CELLS: u32 = 4;

/// See [`FULL_ANSWER_CELLS`].
pub const NOT_MODIFIED_CELLS: u32 = 1;

/// Console sign-in attempts per client: a person mistyping the token a few times gets through,
/// a guesser gets five tries a minute.
pub const SIGN_IN_BUDGET: RateBudget = RateBudget {
    max_requests: 5,
    window: Duration::from_secs(60),
};

/// One allowance per client, and what the headers say about it.
struct Budget {
    limiter: Limiter,
    /// `ratelimit-limit`: requests per window.
    max_requests: u32,
    /// Time for one spent cell to be available again (window / cells).
    refill_per_cell: Duration,
}

impl Budget {
    fn new(budget: RateBudget) -> Self {
        let max_requests = budget.max_requests.max(1);
        let cells = max_requests.saturating_mul(FULL_ANSWER_CELLS);
        let refill_per_cell = (budget.window / cells).max(Duration::from_nanos(1));
        let quota = Quota::with_period(refill_per_cell)
            .expect("the period is at least 1 ns")
            .allow_burst(NonZeroU32::new(cells).expect("at least 1"));
        Self {
            limiter: RateLimiter::keyed(quota).with_middleware(),
            max_requests,
            refill_per_cell,
        }
    }

    /// Seconds until `spent_cells` cells have refilled, rounded up.
    fn seconds_to_refill(&self, spent_cells: u32) -> u64 {
        (self.refill_per_cell * spent_cells).as_secs_f64().ceil() as u64
    }

    /// Spends `cells` of `client`'s allowance: the full answers left, and the seconds until the
    /// allowance is whole again; or, when too little is left, the seconds until it suffices.
    fn spend(&self, client: &ClientId, cells: u32) -> Result<(u32, u64), u64> {
        let cells = NonZeroU32::new(cells).expect("every answer costs a cell");
        let total = self.max_requests.saturating_mul(FULL_ANSWER_CELLS);
        match self.limiter.check_key_n(client, cells) {
            Ok(Ok(snapshot)) => {
                let remaining = snapshot.remaining_burst_capacity();
                Ok((
                    remaining / FULL_ANSWER_CELLS,
                    self.seconds_to_refill(total - remaining),
                ))
            }
            Ok(Err(not_until)) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Err(wait.as_secs_f64().ceil().max(1.0) as u64)
            }
            // More cells than the whole allowance: never happens with at least one request.
            Err(_) => Err(self.seconds_to_refill(total).max(1)),
        }
    }
}

/// The per-client limiters, shared by every request.
#[derive(Clone)]
pub struct ClientRateLimit {
    reads: Arc<Budget>,
    initiates: Arc<Budget>,
    sign_ins: Arc<Budget>,
}

/// Marks a request whose client is over its limit; [`Enforce`] refuses it.
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
            sign_ins: Arc::new(Budget::new(SIGN_IN_BUDGET)),
        }
    }

    /// Forgets clients whose allowance is full again, so the tables do not grow without bound.
    pub fn forget_idle_clients(&self) {
        for budget in [&self.reads, &self.initiates, &self.sign_ins] {
            budget.limiter.retain_recent();
            budget.limiter.shrink_to_fit();
        }
        crate::metrics::rate_limited_clients(self.tracked_clients());
    }

    /// Clients the limiters remember now (both budgets): what `/metrics` reports, so an operator
    /// sees the table stay small however many addresses clients claim to have.
    pub fn tracked_clients(&self) -> usize {
        self.reads.limiter.len() + self.initiates.limiter.len() + self.sign_ins.limiter.len()
    }

    /// Which allowance a request spends: creating a job, signing in, or anything else.
    fn budget_for(&self, request: &Request) -> &Arc<Budget> {
        match (request.method(), request.uri().path()) {
            (&Method::POST, super::initiate::PATH) => &self.initiates,
            (&Method::POST, super::admin::SESSION_PATH) => &self.sign_ins,
            _ => &self.reads,
        }
    }
}

/// Counts the request against its client and puts the `ratelimit-*` headers on the response.
///
/// A conditional read (`If-None-Match`) is charged as a `304` up front and the rest of a full
/// answer once the answer turns out to be one, so the cheap price cannot be had by sending a
/// made-up tag: at most one full answer per exhausted allowance slips through that way.
#[derive(Clone)]
pub struct Decide(pub ClientRateLimit);

/// What [`Decide`] charged a request, for the headers and the rest of a conditional read's price.
pub struct Charged {
    client: ClientId,
    budget: Arc<Budget>,
    conditional: bool,
    remaining: u32,
    reset_secs: u64,
}

impl Around for Decide {
    type Carry = Charged;

    fn before(&self, request: &mut Request) -> Result<Charged, Response> {
        let client = request
            .extensions()
            .get::<Caller>()
            .expect("client::Identify runs before the rate limit")
            .client;
        let budget = self.0.budget_for(request).clone();
        let conditional = request.method() == Method::GET
            && request.headers().contains_key(header::IF_NONE_MATCH);
        let upfront = if conditional {
            NOT_MODIFIED_CELLS
        } else {
            FULL_ANSWER_CELLS
        };
        let (remaining, reset_secs) = match budget.spend(&client, upfront) {
            Ok(left) => left,
            Err(retry_after_secs) => {
                request
                    .extensions_mut()
                    .insert(OverLimit { retry_after_secs });
                (
                    0,
                    budget.seconds_to_refill(budget.max_requests * FULL_ANSWER_CELLS),
                )
            }
        };
        Ok(Charged {
            client,
            budget,
            conditional,
            remaining,
            reset_secs,
        })
    }

    fn after(charged: Charged, mut response: Response) -> Response {
        if charged.conditional && response.status() != StatusCode::NOT_MODIFIED {
            // Refused when too little is left: the next request then finds the allowance empty.
            let _ = charged
                .budget
                .spend(&charged.client, FULL_ANSWER_CELLS - NOT_MODIFIED_CELLS);
        }
        let headers = response.headers_mut();
        headers.insert(
            "ratelimit-limit",
            HeaderValue::from(charged.budget.max_requests),
        );
        headers.insert("ratelimit-remaining", HeaderValue::from(charged.remaining));
        headers.insert("ratelimit-reset", HeaderValue::from(charged.reset_secs));
        response
    }
}

/// Refuses a request [`Decide`] marked as over the limit.
#[derive(Clone)]
pub struct Enforce;

impl Around for Enforce {
    type Carry = ();

    fn before(&self, request: &mut Request) -> Result<(), Response> {
        match request.extensions().get::<OverLimit>() {
            Some(over) => Err(AppError::RateLimited {
                retry_after_secs: over.retry_after_secs,
            }
            .into_response()),
            None => Ok(()),
        }
    }

    fn after((): (), response: Response) -> Response {
        response
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
        assert_eq!(budget.seconds_to_refill(FULL_ANSWER_CELLS), 6);
        assert_eq!(budget.seconds_to_refill(10 * FULL_ANSWER_CELLS), 60);
    }

    #[test]
    fn a_not_modified_answer_costs_a_quarter_of_a_full_one() {
        let budget = Budget::new(RateBudget {
            max_requests: 10,
            window: Duration::from_secs(3_600),
        });
        let client = ClientId::of("203.0.113.7".parse().unwrap());
        // Ten full answers empty the allowance…
        for left in (0..10).rev() {
            assert_eq!(budget.spend(&client, FULL_ANSWER_CELLS).unwrap().0, left);
        }
        assert!(budget.spend(&client, NOT_MODIFIED_CELLS).is_err());
        // …or forty polls that found nothing new.
        let other = ClientId::of("203.0.113.8".parse().unwrap());
        for _ in 0..40 {
            budget.spend(&other, NOT_MODIFIED_CELLS).unwrap();
        }
        assert!(budget.spend(&other, NOT_MODIFIED_CELLS).is_err());
    }
}
