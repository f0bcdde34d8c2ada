//! `allora-node devnet` starts the devnet, prints its endpoints, chain id and a funded test
//! mnemonic, and answers on the printed gRPC endpoint.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::test]
async fn devnet_command_prints_endpoints_and_serves_them() {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_allora-node"))
        .args([
            "devnet",
            "--grpc-addr",
            "127.0.0.1:0",
            "--rpc-addr",
            "127.0.0.1:0",
            "--block-time-ms",
            "200",
        ])
        .env("LOG_LEVEL", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn allora-node devnet");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.expect("read") {
            let done = line.contains("funded TEST mnemonic");
            out.push(line);
            if done {
                break;
            }
        }
    })
    .await
    .expect("devnet prints its banner within 20 s");
    let find = |key: &str| {
        out.iter()
            .find_map(|l| l.trim().strip_prefix(key).map(|v| v.trim().to_string()))
            .unwrap_or_else(|| panic!("{key} missing in {out:#?}"))
    };
    assert_eq!(find("chain id:"), "allora-devnet-1");
    assert!(find("websocket:").starts_with("ws://127.0.0.1:"));
    let mnemonic = find("funded TEST mnemonic (public, devnet only):");
    assert_eq!(mnemonic.split_whitespace().count(), 24);
    let grpc = find("gRPC:");
    let mut tm = cosmos_sdk_proto::cosmos::base::tendermint::v1beta1::service_client::ServiceClient::connect(grpc)
        .await
        .expect("connect to printed gRPC endpoint");
    let info = tm
        .get_node_info(cosmos_sdk_proto::cosmos::base::tendermint::v1beta1::GetNodeInfoRequest {})
        .await
        .expect("node info")
        .into_inner();
    assert_eq!(
        info.default_node_info.expect("info").network,
        "allora-devnet-1"
    );
    child.kill().await.expect("kill");
}
