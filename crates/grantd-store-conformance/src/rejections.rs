//! Checks of the rejection log: per app, newest first, filtered, bounded,
//! only for registered apps, gone with the app.

use crate::fixtures::{bare_app, join_all, prefix, setup_account, T};
use grantd_core::rejections::{Rejection, RejectionFilter};
use grantd_core::store::Store;
use grantd_core::trace::{Step, Trace};

fn rejection(client_id: &str, request_id: &str, code: &str, endpoint: &str) -> Rejection {
    Rejection {
        client_id: client_id.to_string(),
        seq: 0,
        request_id: request_id.to_string(),
        at: T,
        endpoint: endpoint.to_string(),
        grant: Some("password".to_string()),
        code: code.to_string(),
        description: "The app is not enabled for password — ünïcode".to_string(),
        client_ip: Some("192.0.2.7".to_string()),
        user_agent: Some("curl/8.5".to_string()),
        trace: Trace {
            client_id: Some(client_id.to_string()),
            grant: Some("password".to_string()),
            steps: vec![
                Step {
                    check: "authenticate_client".to_string(),
                    passed: true,
                    code: None,
                    values: vec![("client_secret".to_string(), "[redacted]".to_string())],
                },
                Step {
                    check: "check_grant_enabled".to_string(),
                    passed: false,
                    code: Some(code.to_string()),
                    values: vec![("requested".to_string(), "password".to_string())],
                },
            ],
            rejected: None,
        },
    }
}

fn all() -> RejectionFilter {
    RejectionFilter {
        limit: 1_000,
        ..RejectionFilter::default()
    }
}

async fn app(store: &dyn Store, p: &str, name: &str) -> String {
    let client_id = format!("{p}-{name}");
    store
        .insert_app(&bare_app(&client_id, &format!("{p}-acct")))
        .await
        .expect("insert_app");
    client_id
}

pub async fn rejections_round_trip_newest_first_and_filter(store: &dyn Store) {
    let p = prefix();
    setup_account(store, &format!("{p}-acct")).await;
    let a = app(store, &p, "a").await;
    let b = app(store, &p, "b").await;
    let first = rejection(&a, &format!("{p}-r1"), "OAU-251", "/oauth/token");
    let second = rejection(&a, &format!("{p}-r2"), "OAU-123", "/oauth/revoke");
    let other = rejection(&b, &format!("{p}-r3"), "OAU-251", "/oauth/token");
    let unknown = rejection(
        &format!("{p}-nobody"),
        &format!("{p}-r4"),
        "OAU-251",
        "/oauth/token",
    );
    store
        .record_rejections(&[first.clone(), other.clone(), unknown], 1_000)
        .await
        .expect("record_rejections");
    store
        .record_rejections(std::slice::from_ref(&second), 1_000)
        .await
        .expect("record_rejections");

    let got = store.list_rejections(&a, &all()).await.expect("list");
    let ids: Vec<_> = got.iter().map(|r| r.request_id.as_str()).collect();
    assert_eq!(
        ids,
        [second.request_id.as_str(), first.request_id.as_str()],
        "newest first, only the app's"
    );
    let mut expected = first.clone();
    expected.seq = got[1].seq;
    assert_eq!(got[1], expected, "every field round-trips, the trace too");
    assert!(got[0].seq > got[1].seq);

    let by_code = RejectionFilter {
        code: Some("OAU-123".into()),
        ..all()
    };
    let got = store.list_rejections(&a, &by_code).await.expect("list");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].request_id, second.request_id);
    let by_endpoint = RejectionFilter {
        endpoint: Some("/oauth/token".into()),
        ..all()
    };
    let got = store.list_rejections(&a, &by_endpoint).await.expect("list");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].request_id, first.request_id);

    let found = store
        .get_rejection(&other.request_id)
        .await
        .expect("get_rejection")
        .expect("found by request id");
    assert_eq!(found.client_id, b);
    assert!(
        store
            .get_rejection(&format!("{p}-r4"))
            .await
            .expect("get_rejection")
            .is_none(),
        "a rejection naming no registered app is not kept"
    );
    assert!(store
        .list_rejections(&format!("{p}-nobody"), &all())
        .await
        .expect("list")
        .is_empty());

    assert!(store.delete_app(&a, T).await.expect("delete_app"));
    assert!(
        store
            .list_rejections(&a, &all())
            .await
            .expect("list")
            .is_empty(),
        "the log goes with its app"
    );
    assert!(store
        .get_rejection(&first.request_id)
        .await
        .expect("get")
        .is_none());
}

pub async fn rejection_log_keeps_the_newest_per_app(store: &dyn Store) {
    let p = prefix();
    setup_account(store, &format!("{p}-acct")).await;
    let a = app(store, &p, "a").await;
    let b = app(store, &p, "b").await;
    let batch: Vec<_> = (0..1_000)
        .map(|i| rejection(&a, &format!("{p}-a{i}"), "OAU-251", "/oauth/token"))
        .collect();
    for chunk in batch.chunks(256) {
        store.record_rejections(chunk, 1_000).await.expect("record");
    }
    store
        .record_rejections(
            &[rejection(&b, &format!("{p}-b0"), "OAU-251", "/oauth/token")],
            1_000,
        )
        .await
        .expect("record");
    let got = store.list_rejections(&a, &all()).await.expect("list");
    assert_eq!(got.len(), 1_000);
    assert_eq!(got[999].request_id, format!("{p}-a0"));

    // The 1,001st drops the oldest, and only the oldest; other apps keep theirs.
    store
        .record_rejections(
            &[rejection(
                &a,
                &format!("{p}-a1000"),
                "OAU-251",
                "/oauth/token",
            )],
            1_000,
        )
        .await
        .expect("record");
    let got = store.list_rejections(&a, &all()).await.expect("list");
    assert_eq!(got.len(), 1_000);
    assert_eq!(got[0].request_id, format!("{p}-a1000"));
    assert_eq!(got[999].request_id, format!("{p}-a1"));
    assert!(store
        .get_rejection(&format!("{p}-a0"))
        .await
        .expect("get")
        .is_none());
    assert_eq!(
        store.list_rejections(&b, &all()).await.expect("list").len(),
        1
    );

    // A smaller bound trims at the next write; a limit caps the answer.
    store
        .record_rejections(
            &[rejection(
                &a,
                &format!("{p}-a1001"),
                "OAU-251",
                "/oauth/token",
            )],
            10,
        )
        .await
        .expect("record");
    let got = store.list_rejections(&a, &all()).await.expect("list");
    assert_eq!(got.len(), 10);
    let few = RejectionFilter { limit: 3, ..all() };
    assert_eq!(
        store.list_rejections(&a, &few).await.expect("list").len(),
        3
    );
}

pub async fn concurrent_recorders_number_one_log(store: &dyn Store) {
    let p = prefix();
    setup_account(store, &format!("{p}-acct")).await;
    let a = app(store, &p, "a").await;
    let writers = (0..4).map(|w| {
        let a = a.clone();
        let p = p.clone();
        async move {
            for i in 0..5 {
                store
                    .record_rejections(
                        &[rejection(
                            &a,
                            &format!("{p}-w{w}-{i}"),
                            "OAU-251",
                            "/oauth/token",
                        )],
                        1_000,
                    )
                    .await
                    .expect("record");
            }
        }
    });
    join_all(writers.collect()).await;
    let got = store.list_rejections(&a, &all()).await.expect("list");
    assert_eq!(got.len(), 20, "no record lost to a race");
    let mut seqs: Vec<_> = got.iter().map(|r| r.seq).collect();
    seqs.dedup();
    assert_eq!(seqs.len(), 20, "each record has its own place in the log");
}
