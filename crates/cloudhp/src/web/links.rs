//! Personal links. A customer's link carries a signature of their id (`&t=…`, an HMAC-SHA256
//! under the campaign's key), so changing the id in the URL does not open someone else's page:
//! the seed's links let anyone read every customer's name and e-mail and play for them.

use std::io::Write;
use std::path::Path;

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
}

/// Signs and checks personal links, and builds the URLs of the site.
#[derive(Clone)]
pub struct Links {
    key: Option<Vec<u8>>,
    base: String,
}

impl Links {
    /// Signed links under `key`; `base` is the public URL of the web role.
    pub fn signed(key: &[u8], base: &str) -> Self {
        Self {
            key: Some(key.to_vec()),
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    /// The seed's open links: the id alone opens the page.
    pub fn open(base: &str) -> Self {
        Self {
            key: None,
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    pub fn is_signed(&self) -> bool {
        self.key.is_some()
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
        let key = self.key.as_deref()?;
        let tag = self.mac(key, id).finalize().into_bytes();
        Some(URL_SAFE_NO_PAD.encode(&tag[..TAG_BYTES]))
    }

    /// Checks the signature given with `id` (in constant time).
    pub fn check(&self, id: CustomerId, given: Option<&str>) -> Result<(), LinkError> {
        let Some(key) = self.key.as_deref() else {
            return Ok(());
        };
        let given = given.filter(|t| !t.is_empty()).ok_or(LinkError::Missing)?;
        let tag = URL_SAFE_NO_PAD
            .decode(given.as_bytes())
            .map_err(|_| LinkError::Invalid)?;
        if tag.len() != TAG_BYTES {
            return Err(LinkError::Invalid);
        }
        self.mac(key, id)
            .verify_truncated_left(&tag)
            .map_err(|_| LinkError::Invalid)
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

/// Reads the link key of `path`, or creates it (32 random bytes, hex, readable by the owner
/// only). Several processes starting together agree on the first one written.
pub fn load_or_create_key(path: &Path) -> std::io::Result<Vec<u8>> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(mut file) => {
            let key: [u8; 32] = rand::random();
            let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
            file.write_all(hex.as_bytes())?;
            file.sync_all()?;
            Ok(hex.into_bytes())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            // A concurrent starter may still be writing it.
            for _ in 0..50 {
                let text = std::fs::read_to_string(path)?;
                let text = text.trim();
                if text.len() >= 32 {
                    return Ok(text.as_bytes().to_vec());
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{} holds no key (32 characters at least)", path.display()),
            ))
        }
        Err(e) => Err(e),
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
        let links = Links::signed(b"0123456789abcdef0123456789abcdef", "http://shop.example/");
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
        let other = Links::signed(b"another key, another campaign!!!", "http://x");
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

    #[test]
    fn the_key_file_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("link.key");
        let a = load_or_create_key(&path).unwrap();
        let b = load_or_create_key(&path).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "the key must not be readable by others");
        }
    }

    proptest! {
        #[test]
        fn tokens_never_verify_for_another_id(a in 1u32.., b in 1u32..) {
            prop_assume!(a != b);
            let links = Links::signed(b"0123456789abcdef0123456789abcdef", "http://x");
            let t = links.token(id(a)).unwrap();
            prop_assert_eq!(links.check(id(b), Some(&t)), Err(LinkError::Invalid));
            prop_assert_eq!(links.check(id(a), Some(&t)), Ok(()));
        }
    }
}
