//! Personal links. A customer's link carries a signature of their id (`&t=…`, an HMAC-SHA256
//! under the campaign's key), so changing the id in the URL does not open someone else's page:
//! the seed's links let anyone read every customer's name and e-mail and play for them.
//!
//! [`Links`] signs and checks the links; [`keys`] keeps the signing keys in a key file and
//! rotates them. A crate of its own so that the tools that build links (the benchmark) need
//! neither the server nor its dependencies.

pub mod keys;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cloudhp_core::CustomerId;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Bytes of the HMAC kept in a link (128 bits, 22 characters).
const TAG_BYTES: usize = 16;
const CONTEXT: &[u8] = b"cloudhp-link-v1:";

/// Why a link is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("this link is incomplete: its signature is missing")]
    Missing,
    #[error("this link is not valid: it was altered or belongs to another campaign")]
    Invalid,
    #[error("signed links need at least one key")]
    NoKey,
}

/// Signs and checks personal links, and builds the URLs of the site.
#[derive(Clone)]
pub struct Links {
    /// The keys, the signing one first; none for open links.
    keys: Vec<Vec<u8>>,
    base: String,
}

impl Links {
    /// Signed links: the first of `keys` signs, every one verifies (so a new key can sign while
    /// the links mailed under the old ones still open). `base` is the public URL of the web
    /// role. No key is [`LinkError::NoKey`].
    pub fn signed<K: AsRef<[u8]>>(keys: &[K], base: &str) -> Result<Self, LinkError> {
        if keys.is_empty() {
            return Err(LinkError::NoKey);
        }
        Ok(Self {
            keys: keys.iter().map(|k| k.as_ref().to_vec()).collect(),
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    /// The seed's open links: the id alone opens the page.
    pub fn open(base: &str) -> Self {
        Self {
            keys: Vec::new(),
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    pub fn is_signed(&self) -> bool {
        !self.keys.is_empty()
    }

    fn mac(&self, key: &[u8], id: CustomerId) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(CONTEXT);
        mac.update(id.to_string().as_bytes());
        mac
    }

    /// The signature of `id`, `None` with open links.
    pub fn token(&self, id: CustomerId) -> Option<String> {
        let key = self.keys.first()?;
        let tag = self.mac(key, id).finalize().into_bytes();
        Some(URL_SAFE_NO_PAD.encode(&tag[..TAG_BYTES]))
    }

    /// Checks the signature given with `id` against every key (each comparison in constant
    /// time, and every key tried: the time does not tell which key matched).
    pub fn check(&self, id: CustomerId, given: Option<&str>) -> Result<(), LinkError> {
        if self.keys.is_empty() {
            return Ok(());
        }
        let given = given.filter(|t| !t.is_empty()).ok_or(LinkError::Missing)?;
        let tag = URL_SAFE_NO_PAD
            .decode(given.as_bytes())
            .map_err(|_| LinkError::Invalid)?;
        if tag.len() != TAG_BYTES {
            return Err(LinkError::Invalid);
        }
        let matched = self.keys.iter().fold(false, |matched, key| {
            self.mac(key, id).verify_truncated_left(&tag).is_ok() | matched
        });
        if matched {
            Ok(())
        } else {
            Err(LinkError::Invalid)
        }
    }

    /// `id=…` and, with signed links, `&t=…`.
    pub fn query(&self, id: CustomerId) -> String {
        match self.token(id) {
            Some(t) => format!("id={id}&t={t}"),
            None => format!("id={id}"),
        }
    }

    /// The page path of a customer (relative to the site).
    pub fn page_path(&self, id: CustomerId) -> String {
        format!("/index.html?{}", self.query(id))
    }

    /// The full personal link of a customer, as mailed.
    pub fn page_url(&self, id: CustomerId) -> String {
        format!("{}{}", self.base, self.page_path(id))
    }

    /// The URL of a customer's picture; `version` (the picture's ETag) changes the URL when
    /// the picture changes, so it can be cached for good.
    pub fn picture_path(&self, id: CustomerId, version: &str) -> String {
        let v: String = version
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(40)
            .collect();
        match self.token(id) {
            Some(t) => format!("/pictures/{id}.jpg?t={t}&v={v}"),
            None => format!("/pictures/{id}.jpg?v={v}"),
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn id(n: u32) -> CustomerId {
        CustomerId::new(n).unwrap()
    }

    #[test]
    fn a_link_opens_only_its_own_page() {
        let links = Links::signed(
            &[b"0123456789abcdef0123456789abcdef"],
            "http://shop.example/",
        )
        .unwrap();
        let t1 = links.token(id(1)).unwrap();
        assert_eq!(t1.len(), 22);
        assert_eq!(links.check(id(1), Some(&t1)), Ok(()));
        assert_eq!(links.check(id(2), Some(&t1)), Err(LinkError::Invalid));
        assert_eq!(links.check(id(1), None), Err(LinkError::Missing));
        assert_eq!(links.check(id(1), Some("")), Err(LinkError::Missing));
        assert_eq!(links.check(id(1), Some("!!")), Err(LinkError::Invalid));
        assert_eq!(links.check(id(1), Some(&t1[..20])), Err(LinkError::Invalid));
        assert_eq!(
            links.page_url(id(1)),
            format!("http://shop.example/index.html?id=1&t={t1}")
        );
        let other = Links::signed(&[b"another key, another campaign!!!"], "http://x").unwrap();
        assert_eq!(other.check(id(1), Some(&t1)), Err(LinkError::Invalid));
    }

    #[test]
    fn open_links_need_no_signature() {
        let links = Links::open("http://x");
        assert_eq!(links.check(id(5), None), Ok(()));
        assert_eq!(links.page_path(id(5)), "/index.html?id=5");
        assert_eq!(
            links.picture_path(id(5), "\"ab-1\""),
            "/pictures/5.jpg?v=ab-1"
        );
    }

    const OLD: &[u8] = b"the old key, 32 characters long!";
    const NEW: &[u8] = b"the new key, 32 characters long!";

    #[test]
    fn a_new_key_signs_while_the_old_one_still_verifies_until_removed() {
        let before = Links::signed(&[OLD], "http://x").unwrap();
        let old_token = before.token(id(7)).unwrap();

        let rotating = Links::signed(&[NEW, OLD], "http://x").unwrap();
        assert_eq!(rotating.check(id(7), Some(&old_token)), Ok(()));
        let new_token = rotating.token(id(7)).unwrap();
        assert_ne!(new_token, old_token, "the first key signs");
        let only_new = Links::signed(&[NEW], "http://x").unwrap();
        assert_eq!(only_new.token(id(7)).unwrap(), new_token);
        assert_eq!(rotating.check(id(7), Some(&new_token)), Ok(()));
        assert_eq!(
            rotating.check(id(8), Some(&old_token)),
            Err(LinkError::Invalid)
        );

        // The old key retired: its links no longer open, the new ones do.
        assert_eq!(
            only_new.check(id(7), Some(&old_token)),
            Err(LinkError::Invalid)
        );
        assert_eq!(only_new.check(id(7), Some(&new_token)), Ok(()));
        // The old key alone does not open the new links either.
        assert_eq!(
            before.check(id(7), Some(&new_token)),
            Err(LinkError::Invalid)
        );
    }

    #[test]
    fn signed_links_need_a_key() {
        let none: [&[u8]; 0] = [];
        assert_eq!(
            Links::signed(&none, "http://x").err(),
            Some(LinkError::NoKey)
        );
    }

    proptest! {
        #[test]
        fn tokens_never_verify_for_another_id(a in 1u32.., b in 1u32..) {
            prop_assume!(a != b);
            let links = Links::signed(&[b"0123456789abcdef0123456789abcdef"], "http://x").unwrap();
            let t = links.token(id(a)).unwrap();
            prop_assert_eq!(links.check(id(b), Some(&t)), Err(LinkError::Invalid));
            prop_assert_eq!(links.check(id(a), Some(&t)), Ok(()));
        }
    }

    // Fuzzing (see docs/fuzzing.md): a fixed number of cases, PROPTEST_CASES raises it.
    proptest! {
        #![proptest_config(ProptestConfig { cases: 100_000, ..ProptestConfig::default() })]

        /// Any id with any token string: a typed refusal, never a panic; and a token accepted
        /// is exactly the one the signing key gives that id.
        #[test]
        fn fuzz_any_token_for_any_id_is_refused_or_its_own(
            n in 1u32..,
            given in prop_oneof![
                any::<String>(),
                "[A-Za-z0-9_-]{0,40}",
                "[A-Za-z0-9_=+/-]{22}",
            ],
        ) {
            let links = Links::signed(&[NEW, OLD], "http://x").unwrap();
            let result = links.check(id(n), Some(&given));
            if given.is_empty() {
                prop_assert_eq!(result, Err(LinkError::Missing));
            } else if result.is_ok() {
                let own = [links.token(id(n)).unwrap(), Links::signed(&[OLD], "x").unwrap().token(id(n)).unwrap()];
                prop_assert!(own.contains(&given), "{given:?} opened the page of {n}");
            } else {
                prop_assert_eq!(result, Err(LinkError::Invalid));
            }
        }

        /// Under several keys, a token of one id opens no other id, whichever key signed it.
        #[test]
        fn fuzz_tokens_of_every_key_stay_with_their_id(a in 1u32.., b in 1u32.., old in any::<bool>()) {
            prop_assume!(a != b);
            let signer = Links::signed(&[if old { OLD } else { NEW }], "http://x").unwrap();
            let links = Links::signed(&[NEW, OLD], "http://x").unwrap();
            let t = signer.token(id(a)).unwrap();
            prop_assert_eq!(links.check(id(a), Some(&t)), Ok(()));
            prop_assert_eq!(links.check(id(b), Some(&t)), Err(LinkError::Invalid));
        }
    }
}
