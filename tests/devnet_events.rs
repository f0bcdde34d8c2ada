//! CometBFT side of the devnet: websocket subscriptions deliver typed window events and tx
//! events shaped like CometBFT 0.38 / SDK 0.50; JSON-RPC `status`, `abci_query`,
//! `broadcast_tx_sync`, `tx`, `block`; and fault injection (pause, forced errors, rejected
//! broadcasts, dropped and stalled connections).

#[path = "support/devnet_client.rs"]
mod devnet_client;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use devnet_client::*;
use futures::{SinkExt, StreamExt};
use prost::Message as _;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn ws_connect(url: &str) -> Ws {
    tokio_tungstenite::connect_async(url)
        .await
        .expect("websocket connects")
        .0
}

async fn ws_call(ws: &mut Ws, req: Value) -> Value {
    ws.send(Message::Text(req.to_string().into()))
        .await
        .expect("send");
    next_json(ws).await
}

async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("websocket message within 10 s")
            .expect("stream open")
            .expect("frame");
        if let Message::Text(t) = msg {
            return serde_json::from_str(t.as_str()).expect("json");
        }
    }
}

async fn rpc(url: &str, method: &str, params: Value) -> Value {
    reqwest::Client::new()
        .post(url)
        .json(&json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params}))
        .send()
        .await
        .expect("rpc post")
        .json()
        .await
        .expect("rpc json")
}

#[tokio::test]
async fn websocket_delivers_window_and_tx_events() {
    let devnet = start(test_genesis(vec![fast_topic(1), fast_topic(2)]), 200).await;
    let mut ws = ws_connect(&devnet.ws_url()).await;
    let q = "tm.event='NewBlockEvents' AND emissions.v10.EventWorkerSubmissionWindowOpened.topic_id='\"1\"'";
    let ack = ws_call(
        &mut ws,
        json!({"jsonrpc": "2.0", "id": 42, "method": "subscribe", "params": {"query": q}}),
    )
    .await;
    assert_eq!(ack["result"], json!({}), "{ack}");

    let ev = next_json(&mut ws).await;
    assert_eq!(ev["id"], 42);
    assert_eq!(ev["result"]["query"], q);
    assert_eq!(
        ev["result"]["data"]["type"],
        "tendermint/event/NewBlockEvents"
    );
    assert_eq!(ev["result"]["data"]["value"]["height"], "8");
    let events = ev["result"]["data"]["value"]["events"]
        .as_array()
        .expect("events");
    let opened: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "emissions.v10.EventWorkerSubmissionWindowOpened")
        .collect();
    // Both topics open at 8; the filter matched topic 1, the block carries both.
    assert_eq!(opened.len(), 2);
    let attr = |e: &Value, k: &str| {
        e["attributes"]
            .as_array()
            .expect("attrs")
            .iter()
            .find(|a| a["key"] == k)
            .map(|a| a["value"].clone())
    };
    let t1 = opened
        .iter()
        .find(|e| attr(e, "topic_id") == Some(json!("\"1\"")))
        .expect("topic 1 event");
    assert_eq!(attr(t1, "nonce_block_height"), Some(json!("\"8\"")));
    assert_eq!(attr(t1, "window_end_block"), Some(json!("\"12\"")));
    assert_eq!(
        ev["result"]["events"]["emissions.v10.EventWorkerSubmissionWindowOpened.topic_id"],
        json!(["\"1\"", "\"2\""])
    );
    // The window closes at the end of block 12 (8 + window 4, inclusive).
    let q_closed = "tm.event='NewBlockEvents' AND emissions.v10.EventWorkerSubmissionWindowClosed.topic_id='\"1\"'";
    let ack = ws_call(
        &mut ws,
        json!({"jsonrpc": "2.0", "id": 43, "method": "subscribe", "params": {"query": q_closed}}),
    )
    .await;
    assert_eq!(ack["id"], 43);
    assert_eq!(
        ws_call(
            &mut ws,
            json!({"jsonrpc": "2.0", "id": 44, "method": "unsubscribe", "params": {"query": q}})
        )
        .await["result"],
        json!({})
    );
    let ev = next_json(&mut ws).await;
    assert_eq!(ev["id"], 43, "{ev}");
    assert_eq!(ev["result"]["data"]["value"]["height"], "12");

    // Tx events: subscribe by sender, send a tx, see it with its hash.
    let c = Client::connect(&devnet).await;
    let w = TestWallet::from_mnemonic(MNEMONICS[0]);
    let q_tx = format!("tm.event='Tx' AND message.sender='{}'", w.address);
    let ack = ws_call(
        &mut ws,
        json!({"jsonrpc": "2.0", "id": 50, "method": "subscribe", "params": {"query": q_tx}}),
    )
    .await;
    assert_eq!(ack["result"], json!({}));
    let ack = ws_call(
        &mut ws,
        json!({"jsonrpc": "2.0", "id": 51, "method": "unsubscribe_all", "params": {}}),
    )
    .await;
    assert_eq!(ack["result"], json!({}));
    let ack = ws_call(
        &mut ws,
        json!({"jsonrpc": "2.0", "id": 52, "method": "subscribe", "params": {"query": q_tx}}),
    )
    .await;
    assert_eq!(ack["result"], json!({}));
    let r = c.send(&w, vec![register(&w, 1, false)]).await;
    let ev = next_json(&mut ws).await;
    assert_eq!(ev["id"], 52);
    assert_eq!(ev["result"]["data"]["type"], "tendermint/event/Tx");
    assert_eq!(ev["result"]["events"]["tx.hash"], json!([r.txhash]));
    assert_eq!(
        ev["result"]["data"]["value"]["TxResult"]["result"]["code"],
        0
    );
    devnet.shutdown().await;
}

#[tokio::test]
async fn json_rpc_status_abci_query_broadcast_tx_and_block() {
    let devnet = start(test_genesis(vec![fast_topic(1)]), 200).await;
    wait_height(&devnet, 2).await;
    let url = devnet.rpc_url();

    let st = rpc(&url, "status", json!({})).await;
    assert_eq!(st["result"]["node_info"]["network"], "devnet-test-1");
    let h: i64 = st["result"]["sync_info"]["latest_block_height"]
        .as_str()
        .expect("h")
        .parse()
        .expect("int");
    assert!(h >= 2);

    // abci_query answers with the gRPC handler, protobuf in/out, base64 value.
    let req = allora_protocol::proto::emissions::v10::GetTopicRequest { topic_id: 1 };
    let q = rpc(&url, "abci_query", json!({"path": "/emissions.v10.QueryService/GetTopic", "data": hex::encode(req.encode_to_vec())})).await;
    assert_eq!(q["result"]["response"]["code"], 0, "{q}");
    let bytes = B64
        .decode(q["result"]["response"]["value"].as_str().expect("value"))
        .expect("b64");
    let topic = allora_protocol::proto::emissions::v10::GetTopicResponse::decode(bytes.as_slice())
        .expect("decode")
        .topic
        .expect("topic");
    assert_eq!(
        (topic.id, topic.epoch_length, topic.worker_submission_window),
        (1, 6, 4)
    );
    let q = rpc(&url, "abci_query", json!({"path": "/emissions.v10.QueryService/GetTopic", "data": hex::encode(allora_protocol::proto::emissions::v10::GetTopicRequest { topic_id: 9 }.encode_to_vec())})).await;
    assert_ne!(q["result"]["response"]["code"], 0);
    assert!(
        q["result"]["response"]["log"]
            .as_str()
            .expect("log")
            .contains("topic 9 not found")
    );
    // URI (GET) form, as curl users write it.
    let get: Value = reqwest::get(format!(
        "{url}/abci_query?path=\"/cosmos.auth.v1beta1.Query/AccountInfo\"&data=0x{}",
        hex::encode(
            cosmos_sdk_proto::cosmos::auth::v1beta1::QueryAccountInfoRequest {
                address: TestWallet::from_mnemonic(MNEMONICS[1]).address
            }
            .encode_to_vec()
        )
    ))
    .await
    .expect("get")
    .json()
    .await
    .expect("json");
    assert_eq!(get["result"]["response"]["code"], 0, "{get}");

    // broadcast_tx_sync + tx + block.
    let c = Client::connect(&devnet).await;
    let w = TestWallet::from_mnemonic(MNEMONICS[0]);
    let tx = c
        .build_tx(&w, vec![register(&w, 1, false)], &TxOpts::default())
        .await;
    let b = rpc(&url, "broadcast_tx_sync", json!({"tx": B64.encode(&tx)})).await;
    assert_eq!(b["result"]["code"], 0, "{b}");
    let hash = b["result"]["hash"].as_str().expect("hash").to_string();
    let bad = rpc(&url, "broadcast_tx_sync", json!({"tx": B64.encode(&tx)})).await;
    assert_eq!(bad["result"]["code"], 19, "same tx twice: {bad}");
    let res = c.wait_tx(&hash).await;
    let t = rpc(
        &url,
        "tx",
        json!({"hash": B64.encode(hex::decode(&hash).expect("hex"))}),
    )
    .await;
    assert_eq!(t["result"]["hash"], hash);
    assert_eq!(t["result"]["height"], res.height.to_string());
    assert_eq!(t["result"]["tx_result"]["code"], 0);
    let blk = rpc(&url, "block", json!({"height": res.height.to_string()})).await;
    assert_eq!(
        blk["result"]["block"]["header"]["height"],
        res.height.to_string()
    );
    assert_eq!(
        blk["result"]["block"]["data"]["txs"],
        json!([B64.encode(&tx)])
    );
    devnet.shutdown().await;
}

#[tokio::test]
async fn faults_pause_fail_reject_drop_and_stall() {
    let devnet = start(test_genesis(vec![fast_topic(1)]), 100).await;
    let faults = devnet.faults();
    let c = Client::connect(&devnet).await;
    let w = TestWallet::from_mnemonic(MNEMONICS[0]);
    wait_height(&devnet, 2).await;

    // Paused: no blocks while paused; a pending tx waits; resume includes it.
    faults.pause_blocks();
    tokio::time::sleep(Duration::from_millis(150)).await;
    let paused_at = devnet.height();
    let r = c
        .broadcast(
            c.build_tx(&w, vec![register(&w, 1, false)], &TxOpts::default())
                .await,
        )
        .await;
    assert_eq!(r.code, 0);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(devnet.height(), paused_at);
    assert!(devnet.tx_result(&r.txhash).is_none());
    faults.resume_blocks();
    assert_eq!(c.wait_tx(&r.txhash).await.code, 0);

    // Forced errors: the next 2 requests fail with Unavailable, then it recovers.
    faults.fail_next_requests(2);
    let mut q = c.emissions();
    let req = || allora_protocol::proto::emissions::v10::GetParamsRequest {};
    assert_eq!(
        q.get_params(req()).await.expect_err("forced").code(),
        tonic::Code::Unavailable
    );
    let st = rpc(&devnet.rpc_url(), "status", json!({})).await;
    assert_eq!(st["error"]["code"], -32603, "{st}");
    assert!(q.get_params(req()).await.is_ok());

    // Rejected broadcasts: every one while the share is 1.0 (mempool full, code 20).
    faults.reject_broadcast_share(1.0);
    let r = c
        .broadcast(
            c.build_tx(&w, vec![register(&w, 1, true)], &TxOpts::default())
                .await,
        )
        .await;
    assert_eq!((r.codespace.as_str(), r.code), ("sdk", 20), "{}", r.raw_log);
    faults.reject_broadcast_share(0.0);

    // Dropped connections: the websocket is closed; a fresh one works.
    let mut ws = ws_connect(&devnet.ws_url()).await;
    let ack = ws_call(&mut ws, json!({"jsonrpc": "2.0", "id": 1, "method": "subscribe", "params": {"query": "tm.event='NewBlock'"}})).await;
    assert_eq!(ack["result"], json!({}));
    faults.drop_connections();
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match ws.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "websocket must be closed after drop_connections"
    );
    let mut ws = ws_connect(&devnet.ws_url()).await;
    let ack = ws_call(&mut ws, json!({"jsonrpc": "2.0", "id": 2, "method": "subscribe", "params": {"query": "tm.event='NewBlock'"}})).await;
    assert_eq!(ack["result"], json!({}));

    // Stalled (half-open) connections: the old gRPC channel hangs, a new one answers.
    let mut old = c.emissions();
    // (Re)establish the channel's connection first: drop_connections closed it above.
    assert!(old.get_params(req()).await.is_ok());
    faults.set_stalled(true);
    let stalled =
        tokio::time::timeout(Duration::from_millis(700), old.clone().get_params(req())).await;
    assert!(stalled.is_err(), "a stalled connection must not answer");
    let fresh = Client::connect(&devnet).await;
    assert!(fresh.emissions().get_params(req()).await.is_ok());
    faults.clear();
    devnet.shutdown().await;
}

#[tokio::test]
async fn grpc_reflection_lists_the_emissions_services() {
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let devnet = start(test_genesis(vec![fast_topic(1)]), 200).await;
    let c = Client::connect(&devnet).await;
    let req = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = ServerReflectionClient::new(c.channel.clone())
        .server_reflection_info(futures::stream::iter(vec![req]))
        .await
        .expect("reflection")
        .into_inner();
    let resp = stream.message().await.expect("message").expect("response");
    let Some(MessageResponse::ListServicesResponse(list)) = resp.message_response else {
        panic!("unexpected reflection response: {resp:?}");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for want in ["emissions.v10.QueryService", "feemarket.feemarket.v1.Query"] {
        assert!(
            names.iter().any(|n| n == want),
            "{want} missing from {names:?}"
        );
    }
    devnet.shutdown().await;
}
