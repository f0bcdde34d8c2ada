//! Exactly-once fault tests: the real `allora-node` binary against the devnet, asserting on
//! what the chain recorded (the devnet's own state), never on the node's logs alone.

#[path = "support/node_harness.rs"]
mod harness;

use std::collections::BTreeMap;
use std::time::Duration;

use harness::*;
use serde_json::json;

const EPOCH: i64 = 10;
const WINDOW: i64 = 5;

/// A second process on the same data dir is refused with exit 2 naming the holder, and the
/// first keeps submitting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_process_on_same_data_dir_exits_2_naming_the_holder() {
    let dn = devnet(vec![topic(1, EPOCH, WINDOW)]).await;
    let src = source().await;
    let host = src.addr.to_string();
    let me = address_of(3);
    let home = tempfile::tempdir().unwrap();
    let config = json!({
        "wallet": wallet_json(&dn, 3, true),
        "worker": [
            { "topicId": 1, "loopSeconds": 1,
              "parameters": { "InferenceEndpoint": format!("http://{host}/inference/ETH") },
              "inferenceAdapter": adapter("http_source.wasm", &[host.as_str()], BTreeMap::new(), 3000) }
        ]
    });
    let first = NodeProc::start(&config, Some(home.path()));
    let landed = wait_for("a first worker payload", Duration::from_secs(60), || {
        let h = dn.height();
        let n = worker_nonces_with_payload(&dn, 1, &me, h, EPOCH)
            .first()
            .copied();
        async move { n }
    })
    .await;
    let mut second = NodeProc::start(&config, Some(home.path()));
    let code = second.wait_exit(Duration::from_secs(20));
    assert_eq!(code, Some(2), "{}", second.log_text());
    let log = second.log_text();
    assert!(
        log.contains(&format!("pid {}", first.pid())),
        "the refusal must name the holder: {log}"
    );
    // The first process is unaffected: the chain keeps receiving its payloads.
    wait_for(
        "the first process's next payload",
        Duration::from_secs(60),
        || {
            let h = dn.height();
            let ok = worker_nonces_with_payload(&dn, 1, &me, h, EPOCH).contains(&(landed + EPOCH));
            async move { ok.then_some(()) }
        },
    )
    .await;
    dn.shutdown().await;
}

/// A "gRPC endpoint" that is really a broken proxy: every request gets HTTP 500 with a
/// text body and no `grpc-status` (what a CDN in front of a dead node sends).
async fn http_500_endpoint() -> std::net::SocketAddr {
    let router = axum::Router::new().fallback(|| async {
        (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error",
        )
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let incoming = tokio_stream_incoming(listener);
    tokio::spawn(async move {
        let _ = tonic::transport::Server::builder()
            .add_routes(tonic::service::Routes::from(router))
            .serve_with_incoming(incoming)
            .await;
    });
    addr
}

fn tokio_stream_incoming(
    listener: tokio::net::TcpListener,
) -> impl futures::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    futures::stream::unfold(listener, |l| async move {
        let r = l.accept().await.map(|(s, _)| s);
        Some((r, l))
    })
}

/// gRPC endpoint A answers every call with HTTP 500 text, B is healthy: A is judged down
/// from what happened, the node fails over to B, and payloads keep landing in their windows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_endpoint_answering_http_500_fails_over_and_payloads_land() {
    let dn = devnet(vec![topic(1, EPOCH, WINDOW)]).await;
    let bad = http_500_endpoint().await;
    let src = source().await;
    let host = src.addr.to_string();
    let me = address_of(4);
    let mut wallet = wallet_json(&dn, 4, true);
    wallet["nodeGrpcs"] = json!([format!("http://{bad}"), dn.grpc_url()]);
    let config = json!({
        "wallet": wallet,
        "worker": [
            { "topicId": 1, "loopSeconds": 1,
              "parameters": { "InferenceEndpoint": format!("http://{host}/inference/ETH") },
              "inferenceAdapter": adapter("http_source.wasm", &[host.as_str()], BTreeMap::new(), 3000) }
        ]
    });
    let node = NodeProc::start(&config, None);
    wait_for(
        "worker payloads in 3 consecutive epochs despite the HTTP 500 endpoint",
        Duration::from_secs(90),
        || {
            let h = dn.height();
            let ok = has_consecutive(&worker_nonces_with_payload(&dn, 1, &me, h, EPOCH), EPOCH, 3);
            async move { ok.then_some(()) }
        },
    )
    .await;
    assert!(dn.is_worker_registered(1, &me), "{}", node.log_text());
    dn.shutdown().await;
}
