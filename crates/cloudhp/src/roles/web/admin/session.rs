//! The admin area's credentials: the password (Argon2, PHC string), the signed session tokens
//! (stateless, so any web replica accepts them), the CSRF tokens tied to a session or to a
//! login form, and the lock-out of addresses that keep guessing.
//!
//! A token is `EXPIRES.NONCE.MAC`: its expiry (Unix seconds), a random nonce, and an HMAC-SHA256
//! of both and of its kind (`session` or `login`) under the session key. The CSRF token of a
//! form is the HMAC of the nonce of the token its cookie carries: only a page served with that
//! cookie knows it, and it is worthless without the cookie.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The kinds of token: a logged-in session, or the short-lived token of a login form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Session,
    Login,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Session => "session",
            Kind::Login => "login",
        }
    }
}

/// Hashes a password as `cloudhp admin hash-password` prints it (Argon2id, random salt).
pub fn hash_password(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// Checks that `hash` is an Argon2 PHC string; the message says what is wrong.
pub fn check_hash(hash: &str) -> Result<(), String> {
    let parsed = PasswordHash::new(hash).map_err(|e| {
        format!(
            "is not a PHC string ({e}); set it to the line `cloudhp admin hash-password` prints"
        )
    })?;
    if !parsed.algorithm.as_str().starts_with("argon2") {
        return Err(format!(
            "is a `{}` hash; only Argon2 hashes are accepted (`cloudhp admin hash-password`)",
            parsed.algorithm
        ));
    }
    Ok(())
}

/// Whether `password` is the one of `hash` (slow on purpose: run it off the async threads).
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// Signs and checks the tokens of the admin area.
pub struct Signer {
    key: Vec<u8>,
}

impl Signer {
    /// The signer of `key_material` (the configured session key, or a link key), bound to the
    /// password hash: a new password ends every session.
    pub fn new(key_material: &[u8], password_hash: &str) -> Self {
        let mut mac = Self::mac_of(key_material);
        mac.update(b"cloudhp admin session key v1|");
        mac.update(password_hash.as_bytes());
        Self {
            key: mac.finalize().into_bytes().to_vec(),
        }
    }

    fn mac_of(key: &[u8]) -> HmacSha256 {
        <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length")
    }

    fn mac(&self, parts: &[&str]) -> HmacSha256 {
        let mut mac = Self::mac_of(&self.key);
        for part in parts {
            mac.update(part.as_bytes());
            mac.update(b"|");
        }
        mac
    }

    /// A fresh token of `kind`, valid until `now + ttl` (Unix seconds).
    pub fn issue(&self, kind: Kind, now: u64, ttl: Duration) -> String {
        let expires = (now + ttl.as_secs()).to_string();
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let mac = self.mac(&[kind.label(), &expires, &nonce]).finalize();
        format!(
            "{expires}.{nonce}.{}",
            URL_SAFE_NO_PAD.encode(mac.into_bytes())
        )
    }

    /// The nonce of a valid, unexpired token of `kind`.
    pub fn check<'t>(&self, kind: Kind, token: &'t str, now: u64) -> Option<&'t str> {
        let mut parts = token.split('.');
        let (expires, nonce, mac) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || expires.parse::<u64>().ok()? <= now {
            return None;
        }
        let given = URL_SAFE_NO_PAD.decode(mac).ok()?;
        self.mac(&[kind.label(), expires, nonce])
            .verify_slice(&given)
            .ok()?;
        Some(nonce)
    }

    /// The CSRF token of the forms of the token whose nonce is `nonce`.
    pub fn csrf(&self, kind: Kind, nonce: &str) -> String {
        let mac = self.mac(&["csrf", kind.label(), nonce]).finalize();
        URL_SAFE_NO_PAD.encode(mac.into_bytes())
    }

    /// Whether `given` is the CSRF token of `nonce` (compared in constant time).
    pub fn check_csrf(&self, kind: Kind, nonce: &str, given: &str) -> bool {
        URL_SAFE_NO_PAD.decode(given).is_ok_and(|given| {
            self.mac(&["csrf", kind.label(), nonce])
                .verify_slice(&given)
                .is_ok()
        })
    }
}

/// Addresses remembered at most by the lock-out; past it, newcomers share one entry.
const MAX_TRACKED: usize = 10_000;

/// Failed logins per client address, in this process's memory.
pub struct Lockout {
    max_failures: u32,
    lockout: Duration,
    entries: Mutex<HashMap<Option<IpAddr>, Failures>>,
}

#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    locked_until: Option<Instant>,
    last: Instant,
}

impl Lockout {
    pub fn new(max_failures: u32, lockout: Duration) -> Self {
        Self {
            max_failures: max_failures.max(1),
            lockout,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<Option<IpAddr>, Failures>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn key(&self, map: &HashMap<Option<IpAddr>, Failures>, client: IpAddr) -> Option<IpAddr> {
        (map.len() < MAX_TRACKED || map.contains_key(&Some(client))).then_some(client)
    }

    /// `Err(wait)` while `client` is locked out.
    pub fn check(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        let map = self.entries();
        let key = self.key(&map, client);
        match map.get(&key).and_then(|f| f.locked_until) {
            Some(until) if until > now => Err(until - now),
            _ => Ok(()),
        }
    }

    /// One more wrong password from `client`; whether it is locked out now.
    pub fn failed(&self, client: IpAddr, now: Instant) -> bool {
        let mut map = self.entries();
        if map.len() >= MAX_TRACKED {
            // Forget the addresses that have not failed for a whole lock-out.
            let lockout = self.lockout;
            map.retain(|_, f| now.saturating_duration_since(f.last) < lockout);
        }
        let key = self.key(&map, client);
        let entry = map.entry(key).or_insert(Failures {
            count: 0,
            locked_until: None,
            last: now,
        });
        entry.count = entry.count.saturating_add(1);
        entry.last = now;
        let locked = entry.count >= self.max_failures;
        if locked {
            entry.locked_until = Some(now + self.lockout);
        }
        locked
    }

    /// A right password from `client`: its failures are forgotten.
    pub fn succeeded(&self, client: IpAddr) {
        self.entries().remove(&Some(client));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_as_issued_and_until_they_expire() {
        let signer = Signer::new(b"k", "$argon2id$hash");
        let token = signer.issue(Kind::Session, 1000, Duration::from_secs(60));
        let nonce = signer.check(Kind::Session, &token, 1000).unwrap();
        assert_eq!(signer.check(Kind::Session, &token, 1059), Some(nonce));
        assert_eq!(signer.check(Kind::Session, &token, 1060), None, "expired");
        assert_eq!(
            signer.check(Kind::Login, &token, 1000),
            None,
            "another kind"
        );
        let other = Signer::new(b"k", "$argon2id$another");
        assert_eq!(
            other.check(Kind::Session, &token, 1000),
            None,
            "new password"
        );
        // Any change of the token breaks it: a later expiry, another nonce.
        let (_, rest) = token.split_once('.').unwrap();
        assert_eq!(
            signer.check(Kind::Session, &format!("9999.{rest}"), 1000),
            None
        );
        for bad in ["", "...", "1.2", "x.y.z", &format!("{token}.x")] {
            assert_eq!(signer.check(Kind::Session, bad, 0), None, "{bad}");
        }
        let csrf = signer.csrf(Kind::Session, nonce);
        assert!(signer.check_csrf(Kind::Session, nonce, &csrf));
        assert!(!signer.check_csrf(Kind::Login, nonce, &csrf));
        assert!(!signer.check_csrf(Kind::Session, "another", &csrf));
        assert!(!signer.check_csrf(Kind::Session, nonce, ""));
    }

    #[test]
    fn an_address_is_locked_out_after_max_failures_and_again_after_each_failure() {
        let lockout = Lockout::new(3, Duration::from_secs(60));
        let (me, you) = ([192, 0, 2, 1].into(), [192, 0, 2, 2].into());
        let t0 = Instant::now();
        assert!(!lockout.failed(me, t0));
        assert!(!lockout.failed(me, t0));
        assert!(lockout.check(me, t0).is_ok());
        assert!(lockout.failed(me, t0));
        assert_eq!(lockout.check(me, t0), Err(Duration::from_secs(60)));
        assert!(lockout.check(you, t0).is_ok(), "another address");
        let later = t0 + Duration::from_secs(61);
        assert!(lockout.check(me, later).is_ok(), "the lock-out ended");
        assert!(lockout.failed(me, later), "one more failure locks it again");
        lockout.succeeded(me);
        assert!(lockout.check(me, later).is_ok());
        assert!(
            !lockout.failed(me, later),
            "a right password starts the count again"
        );
    }

    #[test]
    fn passwords_hash_and_verify() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert_eq!(check_hash(&hash), Ok(()));
        assert!(verify_password(&hash, "correct horse"));
        assert!(!verify_password(&hash, "correct horse "));
        assert!(check_hash("plain text").is_err());
        assert!(check_hash("$pbkdf2-sha256$i=1000$c2FsdA$aGFzaA").is_err());
        assert!(!verify_password("not a hash", "x"));
    }
}
