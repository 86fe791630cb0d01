//! W3C trace context (`traceparent`) as both sides of Ferry write and read it.
//!
//! A click on Download starts a trace in the browser: the page makes a fresh trace id and a span
//! id for the click, and sends them in `traceparent` with the initiate request. The server's
//! request span continues that trace, the job keeps it, and every attempt of the job (on any
//! instance) is a child of the initiate request, so one trace id finds the whole download. The
//! row's status polls send the click's `traceparent` too (the page keeps it with the job id), so
//! each poll's request span is another child of the click: the polls sit on the download's
//! timeline next to the attempts they watched, instead of being hundreds of one-span traces
//! nobody can tie to the click. The browser exports no spans itself; the click is the root the
//! server's spans name as their parent.
//!
//! Format: `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`, lower case, neither id all
//! zeros (<https://www.w3.org/TR/trace-context/#traceparent-header>).

/// The request header that carries the trace context.
pub const TRACEPARENT: &str = "traceparent";

/// The only `traceparent` version this module writes.
const VERSION: &str = "00";

/// Flags of a trace the caller wants recorded. The default, parent-based samplers follow it;
/// `OTEL_TRACES_SAMPLER=traceidratio` decides by the trace id whatever a client asks.
const SAMPLED: &str = "01";

/// The trace id of a well-formed `traceparent`, or `None` for anything else: what the page and
/// the console show, and what a trace UI looks up.
pub fn trace_id_of(traceparent: &str) -> Option<&str> {
    let mut parts = traceparent.split('-');
    let (version, trace_id, span_id, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let valid = parts.next().is_none()
        && version == VERSION
        && is_id(trace_id, 32)
        && is_id(span_id, 16)
        && flags.len() == 2
        && flags.bytes().all(|b| b.is_ascii_hexdigit());
    valid.then_some(trace_id)
}

/// Whether `text` is a trace id as [`trace_id_of`] returns them.
fn is_trace_id(text: &str) -> bool {
    is_id(text, 32)
}

/// `len` lower-case hex digits, not all zero (an all-zero id is invalid by the standard).
fn is_id(text: &str, len: usize) -> bool {
    text.len() == len
        && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        && text.bytes().any(|b| b != b'0')
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A `traceparent` for a span with id `span_id` in the trace `trace_id` (as [`trace_id_of`]
/// returns it); `None` if either id is invalid.
fn traceparent(trace_id: &str, span_id: [u8; 8]) -> Option<String> {
    let span_id = hex(&span_id);
    (is_trace_id(trace_id) && is_id(&span_id, 16))
        .then(|| format!("{VERSION}-{trace_id}-{span_id}-{SAMPLED}"))
}

/// A `traceparent` starting a new trace, from 24 random bytes (16 for the trace id, 8 for the
/// span id); `None` in the one-in-2⁶⁴ case of an all-zero id.
pub fn new_trace(random: [u8; 24]) -> Option<String> {
    let (trace_id, span_id) = random.split_at(16);
    traceparent(&hex(trace_id), span_id.try_into().ok()?)
}

/// Fresh random bytes for ids, from the platform's secure generator (the browser's
/// `crypto.getRandomValues`); `None` if it is unavailable, and the request then goes without a
/// trace context.
pub fn random_bytes<const N: usize>() -> Option<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).ok()?;
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

    #[test]
    fn a_well_formed_traceparent_names_its_trace() {
        let header = format!("00-{TRACE}-00f067aa0ba902b7-01");
        assert_eq!(trace_id_of(&header), Some(TRACE));
        assert_eq!(
            trace_id_of(&format!("00-{TRACE}-00f067aa0ba902b7-00")),
            Some(TRACE)
        );
    }

    #[test]
    fn malformed_traceparents_name_no_trace() {
        for bad in [
            "",
            "00",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-zz",
            "00-<script>alert(1)</script>-00f067aa0ba902b7-01",
        ] {
            assert_eq!(trace_id_of(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_child_keeps_the_trace_and_takes_its_own_span() {
        let child = traceparent(TRACE, [0, 0, 0, 0, 0, 0, 1, 255]).unwrap();
        assert_eq!(child, format!("00-{TRACE}-00000000000001ff-01"));
        assert_eq!(traceparent(TRACE, [0; 8]), None);
        assert_eq!(traceparent("not-a-trace", [1; 8]), None);
    }

    #[test]
    fn a_new_trace_is_well_formed() {
        let mut bytes = [0u8; 24];
        bytes[15] = 1;
        bytes[23] = 2;
        assert_eq!(
            new_trace(bytes).as_deref(),
            Some("00-00000000000000000000000000000001-0000000000000002-01")
        );
        let header = new_trace(random_bytes().unwrap()).unwrap();
        assert!(trace_id_of(&header).is_some(), "{header}");
        assert_eq!(new_trace([0; 24]), None, "an all-zero id is invalid");
    }
}
