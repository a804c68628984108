//! The behaviour of the picture role, the same over both transports: one suite, run against the
//! local service and against the remote client calling the role's real API (local service →
//! its API on a port-0 listener → remote client).

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use cloudhp_core::{CustomerId, PictureInfo, PicturesHandle};
use cloudhp_objects::{JPEG, StoreOptions, picture_key, store_from_url};
use futures::TryStreamExt;

use super::client::RemotePictures;
use super::{IMAGE_STORE, PICTURE_SERVICE, PictureService, api};
use crate::rpc::testing::{Transport, assert_down, transport_tests};

fn id(n: u32) -> CustomerId {
    CustomerId::new(n).unwrap()
}

/// A JPEG as the store keeps it (its first and last bytes are what matters here).
fn jpeg() -> Bytes {
    Bytes::from_static(&[0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 0xFF, 0xD9])
}

/// A folder store in `dir/images` holding the picture of customer 1; the picture role over it,
/// and what it knows of that picture.
async fn pictures(dir: &Path) -> (PicturesHandle, PictureInfo) {
    let url = format!("file://{}", dir.join("images").display());
    let store = store_from_url(&url, &StoreOptions::default()).unwrap();
    store.put(&picture_key(1), jpeg()).await.unwrap();
    let stored = store.head(&picture_key(1)).await.unwrap().unwrap();
    let info = PictureInfo {
        size: stored.size,
        etag: stored.etag,
        content_type: JPEG.to_owned(),
    };
    (Arc::new(PictureService::new(store)), info)
}

/// Takes the folder store down: its folder becomes a file.
fn break_store(dir: &Path) {
    let images = dir.join("images");
    std::fs::remove_dir_all(&images).unwrap();
    std::fs::write(&images, b"not a folder").unwrap();
}

/// What every picture role does, wherever it runs.
async fn suite(pictures: PicturesHandle, expected: PictureInfo, dir: &Path) {
    assert_eq!(pictures.info(id(1)).await, Ok(Some(expected.clone())));
    let opened = pictures.open(id(1)).await.unwrap().expect("a picture");
    assert_eq!(opened.info, expected);
    let body: Vec<Bytes> = opened.body.try_collect().await.unwrap();
    assert_eq!(body.concat(), jpeg());

    assert_eq!(pictures.info(id(2)).await, Ok(None), "no picture");
    assert!(pictures.open(id(2)).await.unwrap().is_none(), "no picture");

    break_store(dir);
    assert_down(pictures.info(id(1)).await, IMAGE_STORE);
    assert_down(
        pictures.open(id(1)).await.map(|p| p.map(|p| p.info)),
        IMAGE_STORE,
    );
}

/// The suite over `transport`, on the picture of [`pictures`].
async fn honours_the_contract(transport: Transport) {
    let dir = tempfile::tempdir().unwrap();
    let (local, expected) = pictures(dir.path()).await;
    let pictures = transport
        .over(
            PICTURE_SERVICE,
            local,
            api::router,
            RemotePictures::handle_of,
        )
        .await;
    suite(pictures, expected, dir.path()).await;
}

transport_tests! {
    honours_the_contract:
        the_local_picture_role_honours_the_contract,
        the_remote_picture_role_honours_the_contract;
}
