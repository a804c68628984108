//! Image stores on top of the `object_store` crate: a local folder, and S3-compatible stores.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{
    Attribute, Attributes, ClientOptions, GetOptions, ObjectStore, ObjectStoreExt, PutOptions,
    PutPayload, RetryConfig,
};

use crate::{
    ImageStore, JPEG, ObjectError, ObjectInfo, ObjectStream, S3Options, quote_etag,
    read_twice_if_absent,
};

/// An [`ImageStore`] over any `object_store` backend.
#[derive(Debug)]
pub struct ObjectStoreImages {
    store: Arc<dyn ObjectStore>,
    /// Whether the backend records a Content-Type (cloud stores do, a folder does not).
    content_type: bool,
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
        })
    }

    /// A bucket of S3 or of an S3-compatible store; keys under `prefix`. The bucket must exist.
    pub fn s3(
        bucket: &str,
        prefix: &str,
        options: &S3Options,
        timeout: Duration,
    ) -> Result<Self, ObjectError> {
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_client_options(
                ClientOptions::new()
                    .with_timeout(timeout)
                    .with_connect_timeout(Duration::from_secs(2))
                    .with_allow_http(options.endpoint.starts_with("http://")),
            )
            // Fail within a few seconds rather than the default minutes of retries: the page
            // would rather say N/A.
            .with_retry(RetryConfig {
                max_retries: 2,
                retry_timeout: timeout,
                ..RetryConfig::default()
            });
        if !options.region.is_empty() {
            builder = builder.with_region(&options.region);
        }
        if !options.endpoint.is_empty() {
            builder = builder
                .with_endpoint(&options.endpoint)
                .with_virtual_hosted_style_request(false);
        }
        if !options.access_key.is_empty() {
            builder = builder
                .with_access_key_id(&options.access_key)
                .with_secret_access_key(options.secret_key.expose());
        }
        let store = builder
            .build()
            .map_err(|e| ObjectError::Config(format!("invalid S3 settings: {e}")))?;
        let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
            Arc::new(store)
        } else {
            Arc::new(PrefixStore::new(store, prefix.trim_end_matches('/')))
        };
        Ok(Self {
            store,
            content_type: true,
        })
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

fn info(meta: &object_store::ObjectMeta, attributes: &Attributes) -> ObjectInfo {
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
        content_type: attributes
            .get(&Attribute::ContentType)
            .map(|v| v.as_ref().to_owned()),
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
        let path = Path::from(key);
        read_twice_if_absent(|| async {
            let options = GetOptions {
                head: true,
                ..GetOptions::default()
            };
            match self.store.get_opts(&path, options).await {
                Ok(result) => Ok(Some(info(&result.meta, &result.attributes))),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(classify(e)),
            }
        })
        .await
    }

    async fn get(&self, key: &str) -> Result<Option<(ObjectInfo, ObjectStream)>, ObjectError> {
        let path = Path::from(key);
        read_twice_if_absent(|| async {
            match self.store.get(&path).await {
                Ok(result) => {
                    let info = info(&result.meta, &result.attributes);
                    let stream = result.into_stream().map_err(std::io::Error::other);
                    Ok(Some((info, Box::pin(stream) as ObjectStream)))
                }
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(classify(e)),
            }
        })
        .await
    }

    async fn ready(&self) -> Result<(), ObjectError> {
        // A listing fails for a bucket that does not exist, where a HEAD of a missing key
        // would look like a healthy store. Only its first entry is read (one request).
        match self.store.list(None).next().await {
            Some(Err(e)) => Err(classify(e)),
            _ => Ok(()),
        }
    }
}
