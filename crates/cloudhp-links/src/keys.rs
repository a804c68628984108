//! The key file of personal links (`link.key` in the data dir, one key a line, the signing key
//! first), and its rotation (`cloudhp link-key rotate` / `retire`).
//!
//! Several keys let a campaign change its key without breaking the links already mailed: the
//! first key signs, every key verifies; once the old links are no longer needed, the old keys
//! are retired.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The shortest key accepted (characters).
pub const MIN_KEY_LEN: usize = 32;

/// The name of the key file in the data dir.
pub const KEY_FILE: &str = "link.key";

/// Why the key file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read or write the link key file {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the link key file {path} holds no key")]
    Empty { path: PathBuf },
    #[error(
        "line {line} of the link key file {path} is not a key: keys are {MIN_KEY_LEN} \
         characters at least, one a line"
    )]
    Short { path: PathBuf, line: usize },
}

impl KeyFileError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// A fresh random key: 32 random bytes, URL-safe base64 (43 characters).
pub fn generate() -> String {
    let bytes: [u8; 32] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The keys of a key file's text: one a line, blank lines ignored, the signing key first.
fn parse(path: &Path, text: &str) -> Result<Vec<Vec<u8>>, KeyFileError> {
    let mut keys = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let key = line.trim();
        if key.is_empty() {
            continue;
        }
        if key.len() < MIN_KEY_LEN {
            return Err(KeyFileError::Short {
                path: path.to_owned(),
                line: i + 1,
            });
        }
        keys.push(key.as_bytes().to_vec());
    }
    if keys.is_empty() {
        return Err(KeyFileError::Empty {
            path: path.to_owned(),
        });
    }
    Ok(keys)
}

fn options_owner_only() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

/// Reads the keys of `path`, or creates it with one random key (readable by the owner only).
/// Several processes starting together agree on the first one written: a new key is written
/// to a file of its own, then published under `path` whole and at once (a hard link, which
/// fails when `path` exists), so a concurrent starter reads a complete key file or none, and
/// never waits for another's write to finish.
pub fn load_or_create(path: &Path) -> Result<Vec<Vec<u8>>, KeyFileError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| KeyFileError::io(path, e))?;
    }
    let read = |path: &Path| {
        let text = std::fs::read_to_string(path).map_err(|e| KeyFileError::io(path, e))?;
        parse(path, &text)
    };
    if path.exists() {
        return read(path);
    }
    let key: [u8; 32] = rand::random();
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let tmp = path.with_extension(format!(
        "key.new-{}-{:016x}",
        std::process::id(),
        rand::random::<u64>()
    ));
    let write = |target: &Path| {
        options_owner_only().open(target).and_then(|mut file| {
            file.write_all(format!("{hex}\n").as_bytes())?;
            file.sync_all()
        })
    };
    let published = write(&tmp).and_then(|()| std::fs::hard_link(&tmp, path));
    let _ = std::fs::remove_file(&tmp);
    // A filesystem without hard links (some network or FUSE mounts): the key is written in
    // place instead, created only if absent; a concurrent starter may then, rarely, read it
    // before it is whole and fail with a clear error, and succeeds when started again.
    let published = match published {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists && !path.exists() => write(path),
        other => other,
    };
    match published {
        Ok(()) => Ok(vec![hex.into_bytes()]),
        // Another starter published its key first, complete: that one is the campaign's.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read(path),
        Err(e) => Err(KeyFileError::io(path, e)),
    }
}

/// Replaces the content of `path` with `keys` (one a line), atomically and readable by the
/// owner only.
fn write_keys(path: &Path, keys: &[Vec<u8>]) -> Result<(), KeyFileError> {
    let tmp = path.with_extension(format!("key.tmp-{}", std::process::id()));
    let mut text = Vec::new();
    for key in keys {
        text.extend_from_slice(key);
        text.push(b'\n');
    }
    let written = options_owner_only().open(&tmp).and_then(|mut file| {
        file.write_all(&text)?;
        file.sync_all()
    });
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(KeyFileError::io(path, e));
    }
    Ok(())
}

/// Puts a fresh key first in `path` (which is created when missing): it signs from the next
/// start on, and the older keys still verify. Returns how many keys the file holds.
pub fn rotate(path: &Path) -> Result<usize, KeyFileError> {
    let mut keys = load_or_create(path)?;
    keys.insert(0, generate().into_bytes());
    write_keys(path, &keys)?;
    Ok(keys.len())
}

/// Keeps only the signing key of `path`: links signed with the older keys stop opening from the
/// next start on. Returns how many keys were removed.
pub fn retire(path: &Path) -> Result<usize, KeyFileError> {
    let text = std::fs::read_to_string(path).map_err(|e| KeyFileError::io(path, e))?;
    let keys = parse(path, &text)?;
    let removed = keys.len() - 1;
    if removed > 0 {
        write_keys(path, &keys[..1])?;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn assert_owner_only(path: &Path) {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the key must not be readable by others");
    }

    #[test]
    fn starters_racing_for_a_new_key_file_agree_on_one_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("link.key");
        let barrier = std::sync::Barrier::new(16);
        let keys: Vec<Vec<Vec<u8>>> = std::thread::scope(|s| {
            let starters: Vec<_> = (0..16)
                .map(|_| {
                    s.spawn(|| {
                        barrier.wait();
                        load_or_create(&path).unwrap()
                    })
                })
                .collect();
            starters.into_iter().map(|t| t.join().unwrap()).collect()
        });
        assert!(keys.iter().all(|k| *k == keys[0]), "{keys:?}");
        assert_eq!(load_or_create(&path).unwrap(), keys[0]);
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn the_key_file_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("link.key");
        let a = load_or_create(&path).unwrap();
        let b = load_or_create(&path).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].len(), 64);
        #[cfg(unix)]
        assert_owner_only(&path);
    }

    #[test]
    fn a_key_file_of_the_previous_format_still_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("link.key");
        std::fs::write(&path, "k".repeat(64)).unwrap();
        assert_eq!(load_or_create(&path).unwrap(), vec![b"k".repeat(64)]);
    }

    #[test]
    fn rotate_puts_a_new_key_first_and_retire_keeps_only_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("link.key");
        let old = load_or_create(&path).unwrap();
        assert_eq!(rotate(&path).unwrap(), 2);
        let rotated = load_or_create(&path).unwrap();
        assert_eq!(rotated.len(), 2);
        assert_eq!(rotated[1], old[0], "the old key still verifies");
        assert_ne!(rotated[0], old[0]);
        assert!(rotated[0].len() >= 43);
        #[cfg(unix)]
        assert_owner_only(&path);

        assert_eq!(retire(&path).unwrap(), 1);
        assert_eq!(load_or_create(&path).unwrap(), vec![rotated[0].clone()]);
        assert_eq!(retire(&path).unwrap(), 0, "nothing left to retire");
        #[cfg(unix)]
        assert_owner_only(&path);
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn bad_key_files_name_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("link.key");
        std::fs::write(&path, format!("{}\n\nshort\n", "k".repeat(40))).unwrap();
        let err = retire(&path).unwrap_err();
        assert!(matches!(err, KeyFileError::Short { line: 3, .. }), "{err}");
        assert!(err.to_string().contains("link.key"), "{err}");
        std::fs::write(&path, "\n \n").unwrap();
        assert!(matches!(
            load_or_create(&path),
            Err(KeyFileError::Empty { .. })
        ));
        assert!(matches!(
            retire(&dir.path().join("missing.key")),
            Err(KeyFileError::Io { .. })
        ));
    }

    #[test]
    fn generated_keys_are_long_url_safe_and_fresh() {
        let a = generate();
        assert_eq!(a.len(), 43);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_ne!(a, generate());
    }
}
