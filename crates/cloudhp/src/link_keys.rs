//! The keys that sign personal links: configured (`web.link_key`, `web.link_keys`), or kept in
//! the data dir (`link.key`, one key a line, the signing key first), and their rotation
//! (`cloudhp link-key rotate` / `retire`). The key file itself is handled by
//! [`cloudhp_links::keys`], re-exported here.

use std::path::{Path, PathBuf};

pub use cloudhp_links::keys::{
    KEY_FILE, KeyFileError, MIN_KEY_LEN, generate, load_or_create, retire, rotate,
};

use crate::config::WebConfig;

/// Where the keys of a process come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// `web.link_key` or `web.link_keys`.
    Config,
    /// The key file of the data dir.
    File(PathBuf),
}

/// The keys of personal links, the signing key first: those of the configuration, or else those
/// of `<data_dir>/link.key` (created with one fresh key when missing).
pub fn resolve(
    web: &WebConfig,
    data_dir: &Path,
) -> Result<(Vec<Vec<u8>>, KeySource), KeyFileError> {
    let configured = web.configured_link_keys();
    if !configured.is_empty() {
        let keys = configured.iter().map(|k| k.as_bytes().to_vec()).collect();
        return Ok((keys, KeySource::Config));
    }
    let path = data_dir.join(KEY_FILE);
    let keys = load_or_create(&path)?;
    Ok((keys, KeySource::File(path)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_keys_come_first_and_the_key_file_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let mut web = WebConfig::default();
        let (keys, source) = resolve(&web, dir.path()).unwrap();
        assert_eq!(source, KeySource::File(dir.path().join(KEY_FILE)));
        assert_eq!(keys, load_or_create(&dir.path().join(KEY_FILE)).unwrap());

        web.link_keys = vec![crate::config::Secret::new("k".repeat(MIN_KEY_LEN))];
        let (keys, source) = resolve(&web, dir.path()).unwrap();
        assert_eq!(source, KeySource::Config);
        assert_eq!(keys, vec![b"k".repeat(MIN_KEY_LEN)]);
    }
}
