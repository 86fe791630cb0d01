//! Request ids (`x-request-id`): a random UUID for every request that does not bring one.
//!
//! tower-http's `MakeRequestUuid` draws each id from the operating system, one `getrandom`
//! system call per request on the hot path of every status poll. These come from the thread's
//! generator (`rand`, a CSPRNG seeded from the system): as unpredictable, without the call.

use axum::http::{HeaderValue, Request};
use tower_http::request_id::{MakeRequestId, RequestId};

/// Makes a random (version 4) UUID for each request.
#[derive(Clone, Copy, Default)]
pub struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        let id = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
        let mut buffer = uuid::Uuid::encode_buffer();
        let text = id.hyphenated().encode_lower(&mut buffer);
        let value = HeaderValue::from_str(text).expect("a UUID is a valid header value");
        Some(RequestId::new(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draw() -> uuid::Uuid {
        let request = Request::new(());
        let id = RandomRequestId.make_request_id(&request).unwrap();
        uuid::Uuid::parse_str(id.header_value().to_str().unwrap()).unwrap()
    }

    #[test]
    fn ids_are_version_4_uuids_and_differ() {
        let (a, b) = (draw(), draw());
        assert_eq!(a.get_version_num(), 4);
        assert_eq!(a.get_variant(), uuid::Variant::RFC4122);
        assert_ne!(a, b);
    }
}
