#![allow(dead_code)]

//! The backends the contract suite runs against: a folder, a real Swift (TempAuth and
//! Keystone v3) and a real S3 endpoint (Swift's s3api), all on loopback. The end-to-end suite of
//! `cloudhp` includes this file too, for the accounts of those servers.

use std::sync::Arc;

use cloudhp_objects::{ImageStore, S3Options, StoreOptions, SwiftOptions, store_from_url};
use cloudhp_testkit::{require, unique};

/// Whatever a backend needs kept alive until the test ends.
pub struct Guard(#[allow(dead_code)] Option<tempfile::TempDir>);

pub async fn local_folder() -> (Arc<dyn ImageStore>, Guard) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dir.path().join("images").display());
    (
        store_from_url(&url, &StoreOptions::default()).unwrap(),
        Guard(Some(dir)),
    )
}

pub fn tempauth_options() -> SwiftOptions {
    SwiftOptions {
        auth_url: require("CLOUDHP_TEST_SWIFT_AUTH_URL"),
        user: require("CLOUDHP_TEST_SWIFT_USER"),
        password: require("CLOUDHP_TEST_SWIFT_KEY").into(),
        ..SwiftOptions::default()
    }
}

/// A container that does not exist yet: the store creates it.
pub async fn swift_tempauth() -> (Arc<dyn ImageStore>, Guard) {
    let url = format!("swift://{}/pictures", unique("cloudhp-"));
    on_swift(&url, tempauth_options())
}

/// The store at `url`, on the Swift account of `swift`.
pub fn on_swift(url: &str, swift: SwiftOptions) -> (Arc<dyn ImageStore>, Guard) {
    let options = StoreOptions {
        swift,
        ..StoreOptions::default()
    };
    (store_from_url(url, &options).unwrap(), Guard(None))
}

pub fn keystone_options() -> SwiftOptions {
    SwiftOptions {
        auth_url: require("CLOUDHP_TEST_KEYSTONE_URL"),
        user: require("CLOUDHP_TEST_KEYSTONE_USER"),
        password: require("CLOUDHP_TEST_KEYSTONE_PASSWORD").into(),
        project: require("CLOUDHP_TEST_KEYSTONE_PROJECT"),
        user_domain: require("CLOUDHP_TEST_KEYSTONE_DOMAIN"),
        project_domain: require("CLOUDHP_TEST_KEYSTONE_DOMAIN"),
        ..SwiftOptions::default()
    }
}

pub async fn swift_keystone() -> (Arc<dyn ImageStore>, Guard) {
    let url = format!("swift://{}", unique("cloudhp-ks-"));
    on_swift(&url, keystone_options())
}

/// The account of the S3 endpoint (Swift's s3api).
pub fn s3_options() -> S3Options {
    S3Options {
        endpoint: require("CLOUDHP_TEST_S3_ENDPOINT"),
        region: require("CLOUDHP_TEST_S3_REGION"),
        access_key: require("CLOUDHP_TEST_S3_ACCESS_KEY"),
        secret_key: require("CLOUDHP_TEST_S3_SECRET_KEY").into(),
    }
}

/// S3 through Swift's s3api: the bucket is a container of the same account, created through
/// the native API first (S3 stores expect their bucket to exist).
pub async fn s3_on_swift() -> (Arc<dyn ImageStore>, Guard) {
    let bucket = unique("cloudhp-s3-");
    let (swift, _) = on_swift(&format!("swift://{bucket}"), tempauth_options());
    swift.ready().await.unwrap();
    let options = StoreOptions {
        s3: s3_options(),
        ..StoreOptions::default()
    };
    let url = format!("s3://{bucket}/campaign");
    (store_from_url(&url, &options).unwrap(), Guard(None))
}
