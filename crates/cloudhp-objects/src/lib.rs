//! Prize picture storage, chosen by URL: a local folder (`file://`), and the cloud stores added
//! beside it. Pictures are JPEG objects under a key derived from the customer id; reads are
//! streams, never whole pictures in memory per request.

mod object;

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;

pub use object::ObjectStoreImages;

/// The media type of every stored picture.
pub const JPEG: &str = "image/jpeg";

/// How a call to the image store failed.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    #[error("unsupported image store URL `{0}`: use file:///path/to/folder")]
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

    /// A description for logs, without secrets.
    fn describe(&self) -> String;
}

/// The key of a customer's prize picture.
pub fn picture_key(customer_id: u32) -> String {
    format!("{customer_id}.jpg")
}

/// Opens the store for `url`: `file:///path` (or a bare path) is a local folder, created when
/// missing.
pub fn store_from_url(url: &str) -> Result<Arc<dyn ImageStore>, ObjectError> {
    if let Some(path) = url.strip_prefix("file://") {
        return Ok(Arc::new(ObjectStoreImages::local(path)?));
    }
    if !url.contains("://") && !url.is_empty() {
        return Ok(Arc::new(ObjectStoreImages::local(url)?));
    }
    Err(ObjectError::Scheme(url.to_owned()))
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

    #[test]
    fn urls_select_stores() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("file://{}", dir.path().join("images").display());
        assert!(store_from_url(&url).is_ok());
        assert!(dir.path().join("images").is_dir());
        assert!(matches!(
            store_from_url("ftp://example.com/x"),
            Err(ObjectError::Scheme(_))
        ));
    }
}
