//! The lottery database on MariaDB with several play processes, and pictures in Swift and S3.

use cloudhp_objects::{ImageStore, StoreOptions, store_from_url};
use cloudhp_testkit::{require, unique};

use crate::backends;
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_play_processes_on_one_mariadb_lottery_draw_once() {
    let db = MysqlDatabase::create("lottery_").await;
    let url = db.url();
    let sandbox = Sandbox::new("[worker]\ntempo = 1.0\n");
    crate::concurrency::two_replicas_draw_once(
        &sandbox,
        &[("CLOUDHP_LOTTERY__DATABASE", url.as_str())],
        14,
    )
    .await;
    // The result and its notification are in MariaDB, once.
    let lottery = cloudhp_store::LotteryDb::connect_lazy(&url, &Default::default()).unwrap();
    let record = lottery.record(id(14)).await.unwrap().unwrap();
    assert_eq!(record.attempts, 1);
    assert!(record.prize.is_some());
    let counts = lottery.outbox_counts().await.unwrap();
    assert_eq!((counts.pending, counts.delivered), (0, 1));
}

fn s3_options() -> StoreOptions {
    StoreOptions {
        s3: backends::s3_options(),
        ..StoreOptions::default()
    }
}

/// Plays customer `n` on an app keeping its pictures as `images` (TOML) says, fetches the
/// picture of the win, and checks that `store` holds it, as image/jpeg under the customer's
/// key. Returns the sandbox of the app.
async fn picture_is_kept_in(images: &str, store: &dyn ImageStore, n: u32) -> Sandbox {
    let sandbox = Sandbox::new("[worker]\ntempo = 0.2\n");
    let app = sandbox.app().with(images).spawn().await;
    let links = sandbox.links(&app.base());
    start_play(&app, &links, n).await;
    let won = wait_for_state(&app, &links, n, "won").await;
    let response = send(client().get(app.url(won["picture_url"].as_str().unwrap()))).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    let jpeg = response.bytes().await.unwrap().to_vec();
    assert!(jpeg.starts_with(&[0xFF, 0xD8, 0xFF]));
    let info = store
        .head(&format!("{n}.jpg"))
        .await
        .unwrap()
        .expect("the picture is in the store");
    assert_eq!(info.content_type.as_deref(), Some("image/jpeg"));
    assert_eq!(info.size as usize, jpeg.len());
    sandbox
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pictures_are_kept_in_swift() {
    let container = unique("cloudhp-e2e-");
    let images = format!(
        "[images]\nurl = \"swift://{container}/campaign\"\n\
         [images.swift]\nauth_url = {:?}\nuser = {:?}\npassword = {:?}\n",
        require("CLOUDHP_TEST_SWIFT_AUTH_URL"),
        require("CLOUDHP_TEST_SWIFT_USER"),
        require("CLOUDHP_TEST_SWIFT_KEY"),
    );
    let (swift, _) = backends::on_swift(
        &format!("swift://{container}/campaign"),
        backends::tempauth_options(),
    );
    let sandbox = picture_is_kept_in(&images, swift.as_ref(), 4).await;
    assert!(!sandbox.data_dir().join("images").join("4.jpg").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pictures_are_kept_in_s3() {
    // The bucket of an S3 store exists beforehand: create it as a Swift container.
    let bucket = unique("cloudhp-e2e-s3-");
    let (swift, _) = backends::on_swift(&format!("swift://{bucket}"), backends::tempauth_options());
    swift.ready().await.unwrap();
    let images = format!(
        "[images]\nurl = \"s3://{bucket}\"\n\
         [images.s3]\nendpoint = {:?}\nregion = {:?}\naccess_key = {:?}\nsecret_key = {:?}\n",
        require("CLOUDHP_TEST_S3_ENDPOINT"),
        require("CLOUDHP_TEST_S3_REGION"),
        require("CLOUDHP_TEST_S3_ACCESS_KEY"),
        require("CLOUDHP_TEST_S3_SECRET_KEY"),
    );
    let s3 = store_from_url(&format!("s3://{bucket}"), &s3_options()).unwrap();
    picture_is_kept_in(&images, s3.as_ref(), 5).await;
}
