//! Who may use the operator console: signing in with `ADMIN_TOKEN` sets a session cookie, and
//! every state-changing request must also carry the CSRF token that came with the session.
//!
//! Sessions are stateless. The cookie is `<expires>.<nonce>.<mac>`, its MAC keyed by a key
//! derived from `ADMIN_TOKEN`. Every instance that shares the token accepts it, and changing the
//! token signs everyone out. The CSRF token is a second MAC of the nonce. Another site cannot
//! read it, and `SameSite=Strict` keeps the cookie off its requests in the first place.

use crate::config::Secret;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;

type HmacSha256 = Hmac<Sha256>;

/// The session cookie's name.
pub const COOKIE: &str = "ferry_admin";

/// The header a state-changing request carries the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A signed-in operator's session: when it ends, and the random nonce that names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Unix seconds.
    pub expires_at: u64,
    nonce: String,
}

/// The keys derived from `ADMIN_TOKEN`, one per use, so a MAC made for one purpose never passes
/// for another.
#[derive(Clone)]
pub struct AdminKeys {
    token: Vec<u8>,
    session: Vec<u8>,
    csrf: Vec<u8>,
    lifetime: Duration,
}

impl std::fmt::Debug for AdminKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminKeys(***)")
    }
}

fn mac(key: &[u8], parts: &[&[u8]]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    for part in parts {
        mac.update(part);
        // A separator no part contains, so ("ab", "c") and ("a", "bc") differ.
        mac.update(b"\0");
    }
    mac
}

impl AdminKeys {
    /// Keys for `token`; sessions last `lifetime`.
    pub fn new(token: &Secret, lifetime: Duration) -> Self {
        let derive = |purpose: &str| {
            mac(token.expose().as_bytes(), &[purpose.as_bytes()])
                .finalize()
                .into_bytes()
                .to_vec()
        };
        Self {
            token: derive("ferry admin token"),
            session: derive("ferry admin session"),
            csrf: derive("ferry admin csrf"),
            lifetime,
        }
    }

    /// Whether `offered` is the token, in time that does not depend on where they differ: both
    /// are hashed with the same key and the digests compared in constant time.
    pub fn token_matches(&self, offered: &str, token: &Secret) -> bool {
        let expected = mac(&self.token, &[token.expose().as_bytes()])
            .finalize()
            .into_bytes();
        mac(&self.token, &[offered.as_bytes()])
            .verify_slice(&expected)
            .is_ok()
    }

    /// A new session, from `now` (Unix seconds).
    pub fn open(&self, now: u64) -> Session {
        Session {
            expires_at: now.saturating_add(self.lifetime.as_secs()),
            nonce: hex::encode(rand::random::<[u8; 16]>()),
        }
    }

    /// How long a session lasts, for the cookie's `Max-Age`.
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// The cookie's value for `session`.
    pub fn cookie_value(&self, session: &Session) -> String {
        let expires = session.expires_at.to_string();
        let tag = mac(
            &self.session,
            &[expires.as_bytes(), session.nonce.as_bytes()],
        )
        .finalize()
        .into_bytes();
        format!("{expires}.{}.{}", session.nonce, hex::encode(tag))
    }

    /// The session a cookie value names, if it is one this token signed and it has not ended.
    pub fn verify(&self, cookie_value: &str, now: u64) -> Option<Session> {
        let mut parts = cookie_value.splitn(3, '.');
        let (expires, nonce, tag) = (parts.next()?, parts.next()?, parts.next()?);
        let tag = hex::decode(tag).ok()?;
        mac(&self.session, &[expires.as_bytes(), nonce.as_bytes()])
            .verify_slice(&tag)
            .ok()?;
        let expires_at: u64 = expires.parse().ok()?;
        (now < expires_at).then(|| Session {
            expires_at,
            nonce: nonce.to_owned(),
        })
    }

    /// The CSRF token that goes with `session`.
    pub fn csrf_token(&self, session: &Session) -> String {
        hex::encode(
            mac(&self.csrf, &[session.nonce.as_bytes()])
                .finalize()
                .into_bytes(),
        )
    }

    /// Whether `offered` is `session`'s CSRF token (compared in constant time).
    pub fn csrf_matches(&self, session: &Session, offered: &str) -> bool {
        hex::decode(offered).is_ok_and(|offered| {
            mac(&self.csrf, &[session.nonce.as_bytes()])
                .verify_slice(&offered)
                .is_ok()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(token: &str) -> AdminKeys {
        AdminKeys::new(&Secret::new(token), Duration::from_secs(3_600))
    }

    #[test]
    fn only_the_token_itself_matches() {
        let token = Secret::new("correct horse battery staple");
        let keys = AdminKeys::new(&token, Duration::from_secs(60));
        assert!(keys.token_matches("correct horse battery staple", &token));
        for wrong in [
            "",
            "correct horse battery stapl",
            "correct horse battery staple ",
            "x",
        ] {
            assert!(!keys.token_matches(wrong, &token), "{wrong:?}");
        }
    }

    #[test]
    fn a_session_cookie_holds_until_it_ends_and_only_for_its_token() {
        let keys = keys("token-one");
        let session = keys.open(1_000);
        let cookie = keys.cookie_value(&session);
        assert_eq!(keys.verify(&cookie, 1_000), Some(session.clone()));
        assert_eq!(keys.verify(&cookie, 4_599), Some(session.clone()));
        assert_eq!(keys.verify(&cookie, 4_600), None, "ended");
        assert_eq!(self::keys("token-two").verify(&cookie, 1_000), None);
        // A longer life, another nonce or a forged tag: each breaks the MAC.
        let (_, rest) = cookie.split_once('.').unwrap();
        assert_eq!(keys.verify(&format!("99999999.{rest}"), 1_000), None);
        let mut forged = cookie.clone();
        forged.replace_range(cookie.len() - 2.., "00");
        assert_eq!(keys.verify(&forged, 1_000), None);
        for junk in ["", "...", "1.2", "a.b.c", "1.nonce.zz"] {
            assert_eq!(keys.verify(junk, 1_000), None, "{junk:?}");
        }
    }

    #[test]
    fn the_csrf_token_belongs_to_one_session() {
        let keys = keys("token-one");
        let (one, two) = (keys.open(0), keys.open(0));
        let token = keys.csrf_token(&one);
        assert!(keys.csrf_matches(&one, &token));
        assert!(!keys.csrf_matches(&two, &token));
        assert!(!keys.csrf_matches(&one, ""));
        assert!(!keys.csrf_matches(&one, "not hex"));
        assert_ne!(
            token,
            keys.cookie_value(&one),
            "the token is not the cookie"
        );
    }
}
