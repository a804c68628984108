//! Image stores on top of the `object_store` crate (local folder; S3-compatible stores).

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{Attribute, Attributes, ObjectStore, ObjectStoreExt, PutOptions, PutPayload};

use crate::{ImageStore, JPEG, ObjectError, ObjectInfo, ObjectStream, quote_etag};

/// An [`ImageStore`] over any `object_store` backend.
#[derive(Debug)]
pub struct ObjectStoreImages {
    store: Arc<dyn ObjectStore>,
    /// Whether the backend records a Content-Type (cloud stores do, a folder does not).
    content_type: bool,
    description: String,
}

impl ObjectStoreImages {
    /// A folder of the local file system, created when missing.
    pub fn local(dir: &str) -> Result<Self, ObjectError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            ObjectError::Config(format!("cannot create the image folder {dir}: {e}"))
        })?;
        let store = LocalFileSystem::new_with_prefix(dir)
            .map_err(|e| ObjectError::Config(format!("cannot open the image folder {dir}: {e}")))?;
        Ok(Self {
            store: Arc::new(store),
            content_type: false,
            description: format!("folder {dir}"),
        })
    }

    /// Any other `object_store` backend; `content_type` when it stores a Content-Type.
    pub fn new(store: Arc<dyn ObjectStore>, content_type: bool, description: String) -> Self {
        Self {
            store,
            content_type,
            description,
        }
    }
}

fn classify(err: object_store::Error) -> ObjectError {
    match err {
        object_store::Error::Generic { .. } | object_store::Error::JoinError { .. } => {
            ObjectError::Unavailable(Box::new(err))
        }
        other => ObjectError::Refused(Box::new(other)),
    }
}

fn info(meta: &object_store::ObjectMeta) -> ObjectInfo {
    let etag = meta.e_tag.as_deref().map(quote_etag).unwrap_or_else(|| {
        format!(
            "\"{:x}-{:x}\"",
            meta.size,
            meta.last_modified.timestamp_micros()
        )
    });
    ObjectInfo {
        size: meta.size,
        etag,
    }
}

#[async_trait]
impl ImageStore for ObjectStoreImages {
    async fn put(&self, key: &str, jpeg: Bytes) -> Result<(), ObjectError> {
        let mut attributes = Attributes::new();
        if self.content_type {
            attributes.insert(Attribute::ContentType, JPEG.into());
        }
        let options = PutOptions {
            attributes,
            ..PutOptions::default()
        };
        self.store
            .put_opts(&Path::from(key), PutPayload::from_bytes(jpeg), options)
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, ObjectError> {
        match self.store.head(&Path::from(key)).await {
            Ok(meta) => Ok(Some(info(&meta))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(classify(e)),
        }
    }

    async fn get(&self, key: &str) -> Result<Option<(ObjectInfo, ObjectStream)>, ObjectError> {
        match self.store.get(&Path::from(key)).await {
            Ok(result) => {
                let info = info(&result.meta);
                let stream = result.into_stream().map_err(std::io::Error::other);
                Ok(Some((info, Box::pin(stream))))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(classify(e)),
        }
    }

    async fn ready(&self) -> Result<(), ObjectError> {
        self.head(".cloudhp-ready").await.map(|_| ())
    }

    fn describe(&self) -> String {
        self.description.clone()
    }
}
