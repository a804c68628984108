//! The internal role APIs, attacked as someone on the private network would: closed by default
//! off loopback, and the play role trusts nobody's word about who a customer is.

use crate::support::*;

const TOKEN: &str = "the-role-token-of-this-test";

#[tokio::test]
async fn a_role_api_off_loopback_needs_a_token_or_a_loud_opt_out() {
    let sandbox = Sandbox::new("");
    let data_dir = sandbox.data_dir();
    let serve = [
        "serve",
        "--role",
        "identity",
        "--listen",
        "0.0.0.0:0",
        "--data-dir",
        data_dir.to_str().unwrap(),
    ];
    let refused = run_cli(&sandbox, &serve);
    assert!(!refused.status.success(), "started without a token");
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("roles.token") && said.contains("allow_unauthenticated"),
        "{said}"
    );

    // The explicit opt-out starts, and says so.
    let open = sandbox.serve(
        "identity",
        "0.0.0.0:0",
        &[("CLOUDHP_ROLES__ALLOW_UNAUTHENTICATED", "true")],
    );
    let response = send(client().get(format!(
        "http://127.0.0.1:{}/v1/identity/customers/1",
        open.port()
    )))
    .await;
    assert_eq!(response.status(), 200);
    assert!(open.log().contains("SECURITY"), "{}", open.log());

    // With the token, it starts and refuses callers without it.
    let closed = sandbox.serve("identity", "0.0.0.0:0", &[("CLOUDHP_ROLES__TOKEN", TOKEN)]);
    let url = format!("http://127.0.0.1:{}/v1/identity/customers/1", closed.port());
    let anonymous = client().get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let with_token = client().get(&url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(with_token.status(), 200);
}

/// The status the play role answers a draw for customer `n` with, asked with the role token
/// and `customer` as the body, as the web role would.
async fn draw_as_the_web_role(play: &impl Site, n: u32, customer: &serde_json::Value) -> u16 {
    status_of(
        client()
            .post(play.url(&format!("/v1/play/players/{n}")))
            .bearer_auth(TOKEN)
            .json(customer),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_play_role_draws_only_for_customers_of_the_shop_under_their_own_name() {
    let sandbox = Sandbox::new(&format!(
        "[worker]\ntempo = 0.1\n[roles]\ntoken = \"{TOKEN}\"\n"
    ));
    let identity = sandbox.app().roles("identity").spawn().await;
    let play = sandbox
        .app()
        .roles("play,worker,status")
        .with(&format!(
            "[roles]\nidentity_url = \"{}\"\n",
            identity.base()
        ))
        .spawn()
        .await;
    let forged = serde_json::json!({
        "id": 999_999,
        "firstname": "Mallory",
        "lastname": "Forger\r\nBcc: loot@evil.example",
        "email": "mallory@evil.example",
    });

    // A customer the shop does not have: refused, nothing recorded.
    assert_eq!(draw_as_the_web_role(&play, 999999, &forged).await, 404);
    assert_eq!(sandbox.lottery().record(id(999_999)).await.unwrap(), None);

    // A real customer with a forged identity in the body: the draw records the shop's.
    let forged_as_7 = serde_json::json!({ "id": 7, "firstname": "Mallory", "lastname": "X",
        "email": "mallory@evil.example" });
    assert_eq!(draw_as_the_web_role(&play, 7, &forged_as_7).await, 200);
    let shop: serde_json::Value = client()
        .get(identity.url("/v1/identity/customers/7"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let record = sandbox
        .lottery()
        .record(id(7))
        .await
        .unwrap()
        .expect("a draw of 7");
    assert_eq!(record.customer.email, shop["email"].as_str().unwrap());
    assert_eq!(
        record.customer.firstname,
        shop["firstname"].as_str().unwrap()
    );
    assert_ne!(record.customer.email, "mallory@evil.example");

    // Without the token, nothing at all.
    let response = send(client().post(play.url("/v1/play/players/8"))).await;
    assert_eq!(response.status(), 401);
    assert_eq!(sandbox.lottery().record(id(8)).await.unwrap(), None);
}
