//! Who a request comes from, in a form a client cannot forge.
//!
//! Every per-client rule (rate limits, the cap on unfinished jobs, idempotency keys, fair
//! scheduling) keys on the [`ClientId`] that [`Identify`] attaches to each request. The rules:
//!
//! - A peer that is not one of `TRUSTED_PROXIES` is the client, whatever headers it sends.
//! - Behind trusted proxies, the client is the **rightmost** `X-Forwarded-For` address that is not
//!   a trusted proxy. Each proxy appends the address it saw, so the entries right of the client
//!   were written by our own proxies; anything left of it was written by the client and is
//!   ignored. (The leftmost entry is the one a client controls completely.)
//! - IPv4-mapped IPv6 addresses (`::ffff:203.0.113.7`, what a dual-stack socket reports) count as
//!   the IPv4 address. An IPv6 client is its /64: one subscriber gets a whole /64 and can pick any
//!   address in it, so per-address limits would be no limits at all.
//! - `X-Forwarded-Host` and `X-Forwarded-Proto` are believed from trusted peers only; links built
//!   for anyone else use the `Host` the client connected with.

use super::around::Around;
use axum::{
    extract::{ConnectInfo, Request},
    http::{header, HeaderMap, HeaderName, HeaderValue},
    response::Response,
};
use ipnet::IpNet;
use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
};

/// The unit every per-client limit counts: an IPv4 address, or an IPv6 /64 network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(IpAddr);

impl ClientId {
    /// The client an address belongs to (IPv4-mapped addresses as IPv4, IPv6 cut to its /64).
    pub fn of(address: IpAddr) -> Self {
        match address.to_canonical() {
            IpAddr::V4(v4) => Self(IpAddr::V4(v4)),
            IpAddr::V6(v6) => {
                let network = u128::from(v6) & !((1u128 << 64) - 1);
                Self(IpAddr::V6(Ipv6Addr::from(network)))
            }
        }
    }
}

/// `203.0.113.7`, or `2001:db8:1:2::/64`: what the queue stores and the logs show.
impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

/// The scheme and host a client used to reach Ferry, for links to Ferry itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicOrigin {
    pub scheme: &'static str,
    /// `None` when the request named no host at all (HTTP/1.0 without `Host`). Kept as the
    /// header's own value, which shares the request's bytes: every request carries a
    /// [`Caller`], and most never build a link, so the host is not copied until one does.
    host: Option<HeaderValue>,
}

impl PublicOrigin {
    /// `path` as an absolute URL on this origin (unchanged when the host is unknown).
    pub fn absolute(&self, path: &str) -> String {
        // Only plausible hosts are kept (`is_plausible_host`), and those are ASCII.
        match self.host.as_ref().and_then(|host| host.to_str().ok()) {
            Some(host) => format!("{}://{host}{path}", self.scheme),
            None => path.to_owned(),
        }
    }
}

/// The peers allowed to speak for others (`TRUSTED_PROXIES`).
#[derive(Debug, Clone)]
pub struct TrustedProxies(Arc<[IpNet]>);

impl TrustedProxies {
    pub fn new(networks: &[IpNet]) -> Self {
        Self(networks.into())
    }

    fn trusts(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        self.0.iter().any(|net| net.contains(&address))
    }

    /// The client's address: the peer, or for a trusted peer the rightmost untrusted
    /// `X-Forwarded-For` entry. When every entry is a trusted proxy the leftmost is the client
    /// (a request from inside the trusted network); an unreadable entry stops the walk at the
    /// nearest trusted hop, which then answers for the request.
    pub fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let mut nearest = peer;
        // Several X-Forwarded-For headers are one list, in order. Split as bytes: a header is
        // whole even when a client put non-ASCII bytes into its own (leftmost) part, so those
        // bytes cannot make the entries our proxy appended unreadable.
        let entries: Vec<&[u8]> = headers
            .get_all("x-forwarded-for")
            .iter()
            .flat_map(|value| value.as_bytes().split(|b| *b == b','))
            .collect();
        for entry in entries.iter().rev() {
            let address = std::str::from_utf8(entry)
                .ok()
                .and_then(|entry| parse_forwarded_address(entry.trim()));
            let Some(address) = address else {
                return nearest;
            };
            if !self.trusts(address) {
                return address;
            }
            nearest = address;
        }
        nearest
    }

    /// Scheme and host for links: from `X-Forwarded-Proto`/`-Host` when the peer is trusted, else
    /// plain HTTP to the `Host` header.
    pub fn public_origin(&self, peer: IpAddr, headers: &HeaderMap) -> PublicOrigin {
        // A header's first entry, trimmed, with the value it came from.
        let first_entry = |name: HeaderName| {
            let value = headers.get(name)?;
            let first = value.to_str().ok()?.split(',').next()?.trim();
            (!first.is_empty()).then_some((value, first))
        };
        let trusted = self.trusts(peer);
        let forwarded_host = trusted
            .then(|| first_entry(HeaderName::from_static("x-forwarded-host")))
            .flatten();
        let forwarded_proto = trusted
            .then(|| first_entry(HeaderName::from_static("x-forwarded-proto")))
            .flatten();
        let scheme = match forwarded_proto {
            Some((_, proto)) if proto.eq_ignore_ascii_case("https") => "https",
            _ => "http",
        };
        let host = forwarded_host
            .or_else(|| first_entry(header::HOST))
            .filter(|(_, host)| is_plausible_host(host))
            .map(|(value, host)| {
                // The value itself when it is the host (the usual case), else a copy of the part.
                if host.len() == value.len() {
                    value.clone()
                } else {
                    HeaderValue::from_str(host).expect("a plausible host is a valid header value")
                }
            });
        PublicOrigin { scheme, host }
    }
}

/// `203.0.113.7`, `2001:db8::1`, and the forms with a port (`203.0.113.7:5000`,
/// `[2001:db8::1]:5000`) some proxies write.
fn parse_forwarded_address(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|a| a.ip()))
        .map(|address| address.to_canonical())
}

/// A host (and optional port) as it may appear in a URL: no slashes, spaces, `@` or quotes, so a
/// header cannot turn a link into one pointing elsewhere.
fn is_plausible_host(host: &str) -> bool {
    host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

/// The client and public origin of one request, attached by [`Identify`].
#[derive(Debug, Clone)]
pub struct Caller {
    pub client: ClientId,
    pub origin: PublicOrigin,
}

/// The TCP peer of a request; requests without a socket (in-process tests) count as loopback.
fn peer_of(request: &Request) -> IpAddr {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |info| info.0.ip())
}

/// Attaches the [`Caller`] to the request, before anything counts it.
#[derive(Clone)]
pub struct Identify(pub TrustedProxies);

impl Around for Identify {
    type Carry = ();

    fn before(&self, request: &mut Request) -> Result<(), Response> {
        let peer = peer_of(request);
        let caller = Caller {
            client: ClientId::of(self.0.client_address(peer, request.headers())),
            origin: self.0.public_origin(peer, request.headers()),
        };
        request.extensions_mut().insert(caller);
        Ok(())
    }

    fn after((): (), response: Response) -> Response {
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(list: &str) -> TrustedProxies {
        let nets: Vec<IpNet> = list
            .split(',')
            .filter(|p| !p.is_empty())
            .map(|p| p.parse().unwrap())
            .collect();
        TrustedProxies::new(&nets)
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        headers
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let p = proxies("127.0.0.1/32");
        let headers = forwarded(&["203.0.113.7"]);
        assert_eq!(
            p.client_address(ip("198.51.100.9"), &headers),
            ip("198.51.100.9")
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_rightmost_untrusted_hop_is_the_client() {
        let p = proxies("127.0.0.1/32,10.0.0.0/8");
        // The client wrote "1.2.3.4" itself; nginx appended the address it saw.
        let headers = forwarded(&["1.2.3.4, 203.0.113.7"]);
        assert_eq!(
            p.client_address(ip("127.0.0.1"), &headers),
            ip("203.0.113.7")
        );
        // Two of our proxies in a row: both skipped.
        let headers = forwarded(&["1.2.3.4, 203.0.113.7, 10.0.0.5"]);
        assert_eq!(
            p.client_address(ip("127.0.0.1"), &headers),
            ip("203.0.113.7")
        );
        // Split over two headers, with ports.
        let headers = forwarded(&["1.2.3.4", "203.0.113.7:5000, 10.0.0.5"]);
        assert_eq!(
            p.client_address(ip("127.0.0.1"), &headers),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn garbage_or_nothing_leaves_the_nearest_trusted_hop() {
        let p = proxies("127.0.0.1/32,10.0.0.0/8");
        assert_eq!(
            p.client_address(ip("127.0.0.1"), &HeaderMap::new()),
            ip("127.0.0.1")
        );
        let headers = forwarded(&["203.0.113.7, not-an-address, 10.0.0.5"]);
        assert_eq!(p.client_address(ip("127.0.0.1"), &headers), ip("10.0.0.5"));
        // Every hop trusted: the leftmost is the client.
        let headers = forwarded(&["10.0.0.9, 10.0.0.5"]);
        assert_eq!(p.client_address(ip("127.0.0.1"), &headers), ip("10.0.0.9"));
    }

    #[test]
    fn bytes_a_client_wrote_cannot_hide_the_hop_our_proxy_appended() {
        let p = proxies("127.0.0.1/32");
        let mut headers = HeaderMap::new();
        // nginx appends to whatever the client sent, non-ASCII bytes and all.
        let value = HeaderValue::from_bytes(b"\x80\xff garbage, 203.0.113.7").unwrap();
        headers.insert("x-forwarded-for", value);
        assert_eq!(
            p.client_address(ip("127.0.0.1"), &headers),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn mapped_addresses_are_ipv4_and_ipv6_clients_are_their_64() {
        let p = proxies("127.0.0.1/32");
        // A dual-stack socket reports the proxy as ::ffff:127.0.0.1: still trusted.
        let headers = forwarded(&["::ffff:203.0.113.7"]);
        let client = p.client_address(ip("::ffff:127.0.0.1"), &headers);
        assert_eq!(ClientId::of(client).to_string(), "203.0.113.7");
        let a = ClientId::of(ip("2001:db8:1:2:aaaa::1"));
        let b = ClientId::of(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"));
        let other = ClientId::of(ip("2001:db8:1:3::1"));
        assert_eq!(a, b);
        assert_ne!(a, other);
        assert_eq!(a.to_string(), "2001:db8:1:2::/64");
    }

    #[test]
    fn forwarded_host_and_proto_count_only_from_trusted_peers() {
        let p = proxies("127.0.0.1/32");
        let mut headers = HeaderMap::new();
        headers.insert("host", "ferry.internal:3000".parse().unwrap());
        headers.insert("x-forwarded-host", "ferry.example".parse().unwrap());
        headers.insert("x-forwarded-proto", "https".parse().unwrap());
        let trusted = p.public_origin(ip("127.0.0.1"), &headers);
        assert_eq!(
            trusted.absolute("/v1/files/a"),
            "https://ferry.example/v1/files/a"
        );
        let direct = p.public_origin(ip("198.51.100.9"), &headers);
        assert_eq!(
            direct.absolute("/v1/files/a"),
            "http://ferry.internal:3000/v1/files/a"
        );
        headers.insert("host", "evil.example/phish?".parse().unwrap());
        let odd = p.public_origin(ip("198.51.100.9"), &headers);
        assert_eq!(odd.absolute("/v1/files/a"), "/v1/files/a");
    }
}
