//! Bugs the fuzz targets and the hostile suite found, one test each, so they
//! stay fixed.

mod common;

use common::{Reply, Server, ADMIN_TOKEN};

#[tokio::test]
async fn the_openapi_document_answers_a_wrong_method_from_the_catalog() {
    let server = Server::start();
    for method in [reqwest::Method::POST, reqwest::Method::DELETE] {
        let res = server
            .http
            .request(method.clone(), server.url("/admin/v1/openapi.json"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        let r = Reply::from(res).await;
        r.assert_error(405, "invalid_request", "GRD-101", &["accepts GET only"]);
        assert_eq!(r.header("allow"), Some("GET"), "{method}");
    }
    let res = server
        .http
        .get(server.url("/admin/v1/openapi.json"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn path_segments_that_do_not_decode_name_nothing() {
    let server = Server::start();
    for path in [
        "/docs/errors/%FF%FE",
        "/docs/errors/%C0%AF",
        "/admin/v1/apps/%FF",
        "/admin/v1/users/%C0%AF",
        "/admin/v1/users/%FF/jwt-credentials",
    ] {
        let res = server
            .http
            .get(server.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        Reply::from(res).await.assert_error(
            404,
            "not_found",
            "GRD-109",
            &["Nothing is served at GET"],
        );
    }
}

#[tokio::test]
async fn the_user_list_filter_is_read_by_the_form_parser() {
    let server = Server::start();
    let get = |q: &str| {
        server
            .http
            .get(server.url(&format!("/admin/v1/users?{q}")))
            .bearer_auth(ADMIN_TOKEN)
            .send()
    };
    Reply::from(get("account_id=a&account_id=b").await.unwrap())
        .await
        .assert_error(400, "invalid_request", "OAU-111", &["'account_id'"]);
    Reply::from(get("account_id=%FF").await.unwrap())
        .await
        .assert_error(400, "invalid_request", "GRD-104", &["not UTF-8"]);
    let r = Reply::from(get("account_id=nobody").await.unwrap()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["users"], serde_json::json!([]));
    let user = server
        .create_user(serde_json::json!({"email": "a@example.com", "name": "A"}))
        .await;
    let account = user["account_id"].as_str().unwrap();
    let r = Reply::from(get(&format!("account_id={account}")).await.unwrap()).await;
    assert_eq!(r.json["users"][0]["id"], user["id"], "{}", r.text);
}
