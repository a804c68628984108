//! Prize picture storage, chosen by URL: a local folder (`file://`), and the cloud stores added
//! beside it. Pictures are JPEG objects under a key derived from the customer id; reads are
//! streams, never whole pictures in memory per request.

mod object;
mod swift;

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
pub use cloudhp_core::Secret;
use futures::stream::BoxStream;

pub use object::ObjectStoreImages;
pub use swift::{SwiftAuth, SwiftStore};

/// The media type of every stored picture.
pub const JPEG: &str = "image/jpeg";

/// How a call to the image store failed.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    #[error(
        "unsupported image store URL `{0}`: use file:///path/to/folder, \
         s3://BUCKET[/PREFIX] or swift://CONTAINER[/PREFIX]"
    )]
    Scheme(String),
    #[error("invalid image store configuration: {0}")]
    Config(String),
    #[error("the image store does not answer")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the image store refused the request")]
    Refused(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// What is known of a stored picture without reading it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectInfo {
    pub size: u64,
    /// Quoted, as HTTP wants it.
    pub etag: String,
    /// The media type the store recorded (cloud stores; a folder records none).
    pub content_type: Option<String>,
}

/// Settings of the S3 backend (`s3://` URLs); also the `[images.s3]` configuration table.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Options {
    /// Empty: AWS. Otherwise the endpoint of an S3-compatible store (MinIO, Ceph, Swift's
    /// s3api), addressed path-style.
    pub endpoint: String,
    pub region: String,
    /// Empty: taken from the usual AWS environment variables or instance metadata.
    pub access_key: String,
    /// Masked when printed; exposed only to the S3 client.
    pub secret_key: Secret,
}

/// Settings of the Swift backend (`swift://` URLs); also the `[images.swift]` configuration
/// table.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SwiftOptions {
    /// Keystone v3 (`…/v3`) or TempAuth (`…/auth/v1.0`).
    pub auth_url: String,
    /// `keystone` or `tempauth`; empty: guessed from the URL (`/v3` is Keystone).
    pub auth: String,
    pub user: String,
    /// Keystone password, or TempAuth key; masked when printed, exposed only in the request
    /// that authenticates.
    pub password: Secret,
    /// Keystone: the project to scope the token to, and the domains.
    pub project: String,
    pub user_domain: String,
    pub project_domain: String,
    /// Keystone: which object-store endpoint of the catalog (region empty: the first).
    pub region: String,
    pub interface: String,
}

impl Default for SwiftOptions {
    fn default() -> Self {
        Self {
            auth_url: String::new(),
            auth: String::new(),
            user: String::new(),
            password: Secret::default(),
            project: String::new(),
            user_domain: "Default".into(),
            project_domain: "Default".into(),
            region: String::new(),
            interface: "public".into(),
        }
    }
}

/// Everything a store URL may need besides the URL.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    pub s3: S3Options,
    pub swift: SwiftOptions,
    /// Upper bound of one call to a cloud store.
    pub timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            s3: S3Options::default(),
            swift: SwiftOptions::default(),
            timeout: Duration::from_secs(10),
        }
    }
}

/// A picture's bytes as they come from the store.
pub type ObjectStream = BoxStream<'static, Result<Bytes, std::io::Error>>;

/// Where prize pictures are kept.
#[async_trait]
pub trait ImageStore: Send + Sync + Debug + 'static {
    /// Stores (or replaces) the JPEG under `key`, atomically: a reader sees the old picture or
    /// the new one, never a part.
    async fn put(&self, key: &str, jpeg: Bytes) -> Result<(), ObjectError>;

    /// Metadata of `key`, `None` when absent.
    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, ObjectError>;

    /// The picture under `key` as a stream, `None` when absent.
    async fn get(&self, key: &str) -> Result<Option<(ObjectInfo, ObjectStream)>, ObjectError>;

    /// Whether the store answers.
    async fn ready(&self) -> Result<(), ObjectError>;
}

/// Runs a read once more when it finds nothing. A cloud store may answer "absent" for an object
/// that exists while another client replaces it: Swift's object server lists the object's
/// files, the writer's clean-up removes the older one, and the open that follows fails as "not
/// found" (with one replica, as in a small cluster, no other node is asked). The replacement is
/// in place by then, so one immediate second read finds it; an object that really is absent
/// costs one extra request.
pub(crate) async fn read_twice_if_absent<T, F, Fut>(mut read: F) -> Result<Option<T>, ObjectError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, ObjectError>>,
{
    match read().await? {
        Some(found) => Ok(Some(found)),
        None => read().await,
    }
}

/// The key of a customer's prize picture.
pub fn picture_key(customer_id: u32) -> String {
    format!("{customer_id}.jpg")
}

/// Splits `scheme://NAME/PREFIX` into the bucket or container name and a key prefix.
fn name_and_prefix(rest: &str) -> Result<(String, String), ObjectError> {
    let (name, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if name.is_empty() {
        return Err(ObjectError::Config(
            "the URL names no bucket or container".to_owned(),
        ));
    }
    let prefix = prefix.trim_matches('/');
    let prefix = if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix}/")
    };
    Ok((name.to_owned(), prefix))
}

/// Opens the store for `url`:
/// - `file:///path` (or a bare path): a local folder, created when missing;
/// - `s3://BUCKET[/PREFIX]`: S3 or an S3-compatible store (`options.s3`);
/// - `swift://CONTAINER[/PREFIX]`: OpenStack Swift's native API (`options.swift`), the
///   container created when missing.
pub fn store_from_url(
    url: &str,
    options: &StoreOptions,
) -> Result<Arc<dyn ImageStore>, ObjectError> {
    let store: Arc<dyn ImageStore> = match url.split_once("://") {
        Some(("file", path)) => Arc::new(ObjectStoreImages::local(path)?),
        Some(("s3", rest)) => {
            let (bucket, prefix) = name_and_prefix(rest)?;
            Arc::new(ObjectStoreImages::s3(
                &bucket,
                &prefix,
                &options.s3,
                options.timeout,
            )?)
        }
        Some(("swift", rest)) => {
            let (container, prefix) = name_and_prefix(rest)?;
            Arc::new(SwiftStore::new(
                &container,
                &prefix,
                &options.swift,
                options.timeout,
            )?)
        }
        None if !url.is_empty() => Arc::new(ObjectStoreImages::local(url)?),
        _ => return Err(ObjectError::Scheme(url.to_owned())),
    };
    Ok(store)
}

/// Puts an ETag between double quotes unless it already is (stores differ on this).
pub(crate) fn quote_etag(tag: &str) -> String {
    let bare = tag.trim_start_matches("W/");
    if bare.len() >= 2 && bare.starts_with('"') && bare.ends_with('"') {
        tag.to_owned()
    } else {
        format!("\"{tag}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_are_quoted_once() {
        assert_eq!(quote_etag("abc"), "\"abc\"");
        assert_eq!(quote_etag("\"abc\""), "\"abc\"");
        assert_eq!(quote_etag("W/\"abc\""), "W/\"abc\"");
    }

    /// The S3 settings and store print (`{:?}`) without the secret key.
    #[test]
    fn s3_secrets_never_print() {
        let options = StoreOptions {
            s3: S3Options {
                endpoint: "http://127.0.0.1:1".into(),
                region: "r".into(),
                access_key: "AKIDEXAMPLE".into(),
                secret_key: Secret::new("wJalrXUtnFEMI-s3cret"),
            },
            ..StoreOptions::default()
        };
        let store = store_from_url("s3://bucket/prefix", &options).unwrap();
        let shown = format!("{options:?} {store:?}");
        assert!(shown.contains("AKIDEXAMPLE"), "{shown}");
        assert!(!shown.contains("wJalrXUtnFEMI-s3cret"), "{shown}");
    }

    #[test]
    fn urls_select_stores() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("file://{}", dir.path().join("images").display());
        let options = StoreOptions::default();
        assert!(store_from_url(&url, &options).is_ok());
        assert!(dir.path().join("images").is_dir());
        assert!(matches!(
            store_from_url("ftp://example.com/x", &options),
            Err(ObjectError::Scheme(_))
        ));
        assert!(matches!(
            store_from_url("s3://", &options),
            Err(ObjectError::Config(_))
        ));
        assert_eq!(
            name_and_prefix("pictures/campaign-7/").unwrap(),
            ("pictures".to_owned(), "campaign-7/".to_owned())
        );
        assert_eq!(
            name_and_prefix("pictures").unwrap(),
            ("pictures".to_owned(), String::new())
        );
    }
}
