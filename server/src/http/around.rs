//! Steps around every route (request metrics, client identification, the rate limit, error
//! bodies, the console's guard…) as plain tower services.
//!
//! axum's `middleware::from_fn` is the easy way to write such a step, but on every request it
//! clones the whole stack of services inside it and boxes two futures. With eight steps around
//! each route that cost about as many instructions as the status handler's Redis round trip
//! (issue 18's profile in `BENCHMARKS.md`). An [`Around`] step is synchronous on both sides,
//! which every step here is, so [`AroundService`] calls the inner service in place and returns its
//! future wrapped, allocating nothing.

use axum::{body::Body, extract::Request, response::Response};
use bytes::Bytes;
use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    task::{ready, Context, Poll},
};
use tower::{Layer, Service};

/// One step around the routes: it sees the request first and the response last.
pub trait Around: Clone + Send + Sync + 'static {
    /// What [`before`](Around::before) hands to [`after`](Around::after) for one request.
    type Carry: Send + 'static;

    /// Looks at the request (and may add extensions to it): lets it through with what `after`
    /// needs to know, or answers it without going further. (The answer is the whole response,
    /// as it goes out: boxing it would add an allocation to every refusal for nothing.)
    #[allow(clippy::result_large_err)]
    fn before(&self, request: &mut Request) -> Result<Self::Carry, Response>;

    /// Looks at the answer to a request that `before` let through.
    fn after(carry: Self::Carry, response: Response) -> Response;
}

/// Puts an [`Around`] step in front of a service.
#[derive(Clone)]
pub struct AroundLayer<A>(A);

impl<A> AroundLayer<A> {
    pub fn new(step: A) -> Self {
        Self(step)
    }
}

impl<A: Clone, S> Layer<S> for AroundLayer<A> {
    type Service = AroundService<A, S>;

    fn layer(&self, inner: S) -> Self::Service {
        AroundService {
            step: self.0.clone(),
            inner,
        }
    }
}

/// The service [`AroundLayer`] makes.
#[derive(Clone)]
pub struct AroundService<A, S> {
    step: A,
    inner: S,
}

impl<A, S, B> Service<Request> for AroundService<A, S>
where
    A: Around,
    S: Service<Request, Response = axum::http::Response<B>, Error = Infallible>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = AroundFuture<A::Carry, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        match self.step.before(&mut request) {
            Ok(carry) => AroundFuture::Inner {
                future: self.inner.call(request),
                carry: Some(carry),
                after: A::after,
            },
            Err(answer) => AroundFuture::Answered {
                answer: Some(answer),
            },
        }
    }
}

pin_project_lite::pin_project! {
    /// The answer of an [`AroundService`]: the inner service's, seen by the step's `after`, or
    /// the step's own.
    #[project = AroundFutureProjection]
    pub enum AroundFuture<C, F> {
        Inner {
            #[pin]
            future: F,
            carry: Option<C>,
            after: fn(C, Response) -> Response,
        },
        Answered { answer: Option<Response> },
    }
}

impl<C, F, B> Future for AroundFuture<C, F>
where
    F: Future<Output = Result<axum::http::Response<B>, Infallible>>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            AroundFutureProjection::Inner {
                future,
                carry,
                after,
            } => {
                let response = ready!(future.poll(cx))?;
                let carry = carry
                    .take()
                    .expect("an answer is polled only until it is ready");
                Poll::Ready(Ok(after(carry, response.map(Body::new))))
            }
            AroundFutureProjection::Answered { answer } => Poll::Ready(Ok(answer
                .take()
                .expect("an answer is polled only until it is ready"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderValue, StatusCode};
    use std::sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    };
    use tower::ServiceExt;

    /// Refuses requests without `x-ticket`; tags the others' answers with the ticket.
    #[derive(Clone)]
    struct Ticketed;

    impl Around for Ticketed {
        type Carry = HeaderValue;

        fn before(&self, request: &mut Request) -> Result<HeaderValue, Response> {
            match request.headers().get("x-ticket") {
                Some(ticket) => Ok(ticket.clone()),
                None => {
                    let mut refusal = Response::new(Body::empty());
                    *refusal.status_mut() = StatusCode::FORBIDDEN;
                    Err(refusal)
                }
            }
        }

        fn after(ticket: HeaderValue, mut response: Response) -> Response {
            response.headers_mut().insert("x-seen", ticket);
            response
        }
    }

    fn counted_routes(
        calls: Arc<AtomicUsize>,
    ) -> AroundService<
        Ticketed,
        impl Clone + Service<Request, Response = Response, Error = Infallible>,
    > {
        AroundLayer::new(Ticketed).layer(tower::service_fn(move |_request: Request| {
            calls.fetch_add(1, Ordering::SeqCst);
            std::future::ready(Ok::<_, Infallible>(Response::new(Body::from("inner"))))
        }))
    }

    #[tokio::test]
    async fn a_step_sees_the_inner_answer_of_what_it_lets_through() {
        let calls = Arc::new(AtomicUsize::new(0));
        let request = Request::builder()
            .header("x-ticket", "7")
            .body(Body::empty())
            .unwrap();
        let response = counted_routes(calls.clone())
            .oneshot(request)
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["x-seen"], "7");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_step_that_answers_keeps_the_request_from_the_inner_service() {
        let calls = Arc::new(AtomicUsize::new(0));
        let request = Request::builder().body(Body::empty()).unwrap();
        let response = counted_routes(calls.clone())
            .oneshot(request)
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(response.headers().get("x-seen").is_none());
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }
}
