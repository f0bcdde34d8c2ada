//! The devnet's ante checks behave like the Cosmos SDK's: bad signature, wrong sequence,
//! wrong chain-id, wrong account number, low fee and too little gas are rejected at CheckTx
//! with the SDK's codes and messages, and never consume the sequence; a valid tx is included
//! and charges fee + registration fee.

#[path = "support/devnet_client.rs"]
mod devnet_client;

use devnet_client::*;

async fn setup() -> (allora_devnet::DevnetHandle, Client, TestWallet) {
    let devnet = start(test_genesis(vec![fast_topic(1)]), 200).await;
    let client = Client::connect(&devnet).await;
    let w = TestWallet::from_mnemonic(MNEMONICS[0]);
    (devnet, client, w)
}

#[tokio::test]
async fn rejects_bad_signature_wrong_chain_id_and_account_number() {
    let (devnet, c, w) = setup().await;
    let msg = || vec![register(&w, 1, false)];
    for (what, opts) in [
        (
            "bad signature",
            TxOpts {
                corrupt_signature: true,
                ..Default::default()
            },
        ),
        (
            "wrong chain-id",
            TxOpts {
                chain_id: Some("allora-mainnet-1".into()),
                ..Default::default()
            },
        ),
        (
            "wrong account number",
            TxOpts {
                account_number: Some(77),
                ..Default::default()
            },
        ),
    ] {
        let r = c.broadcast(c.build_tx(&w, msg(), &opts).await).await;
        assert_eq!(
            (r.codespace.as_str(), r.code),
            ("sdk", 4),
            "{what}: {}",
            r.raw_log
        );
        assert!(
            r.raw_log.contains("signature verification failed"),
            "{what}: {}",
            r.raw_log
        );
        assert!(
            r.raw_log.contains("devnet-test-1"),
            "{what}: log names the chain id: {}",
            r.raw_log
        );
    }
    // Nothing was consumed.
    assert_eq!(c.account(&w.address).await.1, 0);
    devnet.shutdown().await;
}

#[tokio::test]
async fn wrong_sequence_is_code_32_with_the_sdk_message() {
    let (devnet, c, w) = setup().await;
    let r = c
        .broadcast(
            c.build_tx(
                &w,
                vec![register(&w, 1, false)],
                &TxOpts {
                    sequence: Some(5),
                    ..Default::default()
                },
            )
            .await,
        )
        .await;
    assert_eq!((r.codespace.as_str(), r.code), ("sdk", 32));
    assert_eq!(
        r.raw_log,
        "account sequence mismatch, expected 0, got 5: incorrect account sequence"
    );
    devnet.shutdown().await;
}

#[tokio::test]
async fn low_fee_and_low_gas_are_rejected() {
    let (devnet, c, w) = setup().await;
    // min gas price 1 uallo/gas: 400000 gas needs 400000 uallo.
    let r = c
        .broadcast(
            c.build_tx(
                &w,
                vec![register(&w, 1, false)],
                &TxOpts {
                    fee: Some(399_999),
                    ..Default::default()
                },
            )
            .await,
        )
        .await;
    assert_eq!((r.codespace.as_str(), r.code), ("sdk", 13), "{}", r.raw_log);
    assert_eq!(
        r.raw_log,
        "insufficient fees; got: 399999uallo required: 400000uallo: insufficient fee"
    );

    let r = c
        .broadcast(
            c.build_tx(
                &w,
                vec![register(&w, 1, false)],
                &TxOpts {
                    gas_limit: Some(1_000),
                    fee: Some(1_000),
                    ..Default::default()
                },
            )
            .await,
        )
        .await;
    assert_eq!((r.codespace.as_str(), r.code), ("sdk", 11), "{}", r.raw_log);

    // Enough for the ante's tx-size gas but not for the message: accepted by CheckTx,
    // fails in the block with out of gas, and still pays the fee and uses the sequence.
    let before = c.balance(&w.address).await;
    let r = c
        .broadcast(
            c.build_tx(
                &w,
                vec![register(&w, 1, false)],
                &TxOpts {
                    gas_limit: Some(30_000),
                    fee: Some(30_000),
                    ..Default::default()
                },
            )
            .await,
        )
        .await;
    assert_eq!(r.code, 0, "{}", r.raw_log);
    let res = c.wait_tx(&r.txhash).await;
    assert_eq!(
        (res.codespace.as_str(), res.code),
        ("sdk", 11),
        "{}",
        res.raw_log
    );
    assert_eq!(c.balance(&w.address).await, before - 30_000);
    assert_eq!(c.account(&w.address).await.1, 1);
    assert!(!devnet.is_worker_registered(1, &w.address));
    devnet.shutdown().await;
}

#[tokio::test]
async fn valid_tx_is_included_charges_fees_and_bumps_sequence() {
    let (devnet, c, w) = setup().await;
    let before = c.balance(&w.address).await;
    let res = c.send(&w, vec![register(&w, 1, false)]).await;
    assert_eq!(res.code, 0, "{}", res.raw_log);
    assert!(res.height > 0);
    assert!(res.gas_used > 0 && res.gas_used <= res.gas_wanted);
    assert_eq!(c.account(&w.address).await.1, 1);
    // fee (400000 × 1) + registration fee (200)
    assert_eq!(c.balance(&w.address).await, before - 400_000 - 200);
    assert!(devnet.is_worker_registered(1, &w.address));
    // A message event names the action, like the SDK's.
    assert!(res.events.iter().any(|e| {
        e.r#type == "message"
            && e.attributes
                .iter()
                .any(|a| a.key == "action" && a.value == "/emissions.v10.RegisterRequest")
    }));

    // Registering twice fails in the block with the emissions code, after ante.
    let res = c.send(&w, vec![register(&w, 1, false)]).await;
    assert_eq!(
        (res.codespace.as_str(), res.code),
        ("emissions", 8),
        "{}",
        res.raw_log
    );
    assert!(
        res.raw_log
            .starts_with("failed to execute message; message index: 0:"),
        "{}",
        res.raw_log
    );
    assert_eq!(c.account(&w.address).await.1, 2);
    devnet.shutdown().await;
}

#[tokio::test]
async fn simulate_reports_the_gas_a_block_charges() {
    let (devnet, c, w) = setup().await;
    let tx = c
        .build_tx(&w, vec![register(&w, 1, false)], &TxOpts::default())
        .await;
    let sim = c
        .tx_service()
        .simulate(cosmos_sdk_proto::cosmos::tx::v1beta1::SimulateRequest {
            tx_bytes: tx.clone(),
            ..Default::default()
        })
        .await
        .expect("simulate")
        .into_inner();
    let used = sim.gas_info.expect("gas info").gas_used;
    let r = c.broadcast(tx).await;
    let res = c.wait_tx(&r.txhash).await;
    assert_eq!(res.code, 0, "{}", res.raw_log);
    assert_eq!(res.gas_used as u64, used);
    // Simulating with a stale sequence reports the mismatch.
    let stale = c
        .build_tx(
            &w,
            vec![register(&w, 1, true)],
            &TxOpts {
                sequence: Some(0),
                ..Default::default()
            },
        )
        .await;
    let err = c
        .tx_service()
        .simulate(cosmos_sdk_proto::cosmos::tx::v1beta1::SimulateRequest {
            tx_bytes: stale,
            ..Default::default()
        })
        .await
        .expect_err("stale sequence");
    assert!(
        err.message()
            .contains("account sequence mismatch, expected 1, got 0"),
        "{}",
        err.message()
    );
    devnet.shutdown().await;
}

#[tokio::test]
async fn garbage_and_unknown_messages_are_parse_errors() {
    let (devnet, c, w) = setup().await;
    let r = c.broadcast(vec![0xff, 0x01, 0x02]).await;
    assert_eq!((r.codespace.as_str(), r.code), ("sdk", 2), "{}", r.raw_log);
    let unknown = any(
        "/emissions.v10.CreateNewTopicRequest",
        &allora_protocol::proto::emissions::v3::Nonce { block_height: 1 },
    );
    let r = c
        .broadcast(c.build_tx(&w, vec![unknown], &TxOpts::default()).await)
        .await;
    assert_eq!((r.codespace.as_str(), r.code), ("sdk", 2), "{}", r.raw_log);
    assert!(
        r.raw_log.contains("unable to resolve type URL"),
        "{}",
        r.raw_log
    );
    devnet.shutdown().await;
}

/// x/feegrant in the ante (allorad v0.17.0's texts and codes): a granted tx is paid by the
/// granter and shrinks the allowance; a fee above what is left, an expired allowance and a
/// missing one are refused at CheckTx and consume nothing.
#[tokio::test]
async fn fee_grants_pay_and_refuse_like_the_chain() {
    let w0 = TestWallet::from_mnemonic(MNEMONICS[0]);
    let w1 = TestWallet::from_mnemonic(MNEMONICS[1]);
    let w2 = TestWallet::from_mnemonic(MNEMONICS[2]);
    const FEE: u128 = 400_000;
    let mut g = test_genesis(vec![fast_topic(1)]);
    g.fee_grants = vec![
        allora_devnet::GenesisFeeGrant {
            granter: w0.address.clone(),
            grantee: w1.address.clone(),
            spend_limit: Some(FEE + FEE / 2),
            expiration_unix: None,
        },
        allora_devnet::GenesisFeeGrant {
            granter: w0.address.clone(),
            grantee: w2.address.clone(),
            spend_limit: None,
            expiration_unix: Some(1),
        },
    ];
    let devnet = start(g, 200).await;
    let c = Client::connect(&devnet).await;
    let granted = |granter: &TestWallet| TxOpts {
        fee: Some(FEE),
        fee_granter: Some(granter.address.clone()),
        ..Default::default()
    };
    let (b0, b1) = (c.balance(&w0.address).await, c.balance(&w1.address).await);

    // Paid by the granter: the signer's balance does not move, the allowance shrinks.
    let tx = c
        .build_tx(&w1, vec![register(&w1, 1, false)], &granted(&w0))
        .await;
    let r = c.broadcast(tx).await;
    assert_eq!(r.code, 0, "{}", r.raw_log);
    let r = c.wait_tx(&r.txhash).await;
    assert_eq!(r.code, 0, "{}", r.raw_log);
    assert_eq!(c.balance(&w0.address).await, b0 - FEE);
    // (the registration fee is the signer's own: x/feegrant pays tx fees only)
    assert_eq!(c.balance(&w1.address).await, b1 - 200);
    assert_eq!(
        devnet.fee_allowance(&w0.address, &w1.address),
        Some(Some(FEE / 2))
    );

    // A fee above what is left.
    let tx = c
        .build_tx(&w1, vec![register(&w1, 1, true)], &granted(&w0))
        .await;
    let r = c.broadcast(tx).await;
    assert_eq!(
        (r.codespace.as_str(), r.code),
        ("feegrant", 2),
        "{}",
        r.raw_log
    );
    assert_eq!(
        r.raw_log,
        format!(
            "error escrowing funds: {} does not allow to pay fees for {}: basic allowance: fee limit exceeded",
            w0.address, w1.address
        )
    );
    // An expired allowance.
    let tx = c
        .build_tx(&w2, vec![register(&w2, 1, false)], &granted(&w0))
        .await;
    let r = c.broadcast(tx).await;
    assert_eq!(
        (r.codespace.as_str(), r.code),
        ("feegrant", 3),
        "{}",
        r.raw_log
    );
    assert!(
        r.raw_log
            .ends_with("basic allowance: fee allowance expired"),
        "{}",
        r.raw_log
    );
    // No allowance at all (w2 never granted anything to w1).
    let tx = c
        .build_tx(&w1, vec![register(&w1, 1, true)], &granted(&w2))
        .await;
    let r = c.broadcast(tx).await;
    assert_eq!((r.codespace.as_str(), r.code), ("sdk", 38), "{}", r.raw_log);
    assert!(
        r.raw_log.ends_with("fee-grant not found: not found"),
        "{}",
        r.raw_log
    );
    // Refusals consumed nothing.
    assert_eq!(c.balance(&w0.address).await, b0 - FEE);
    assert_eq!(c.account(&w1.address).await.1, 1);
    assert_eq!(c.account(&w2.address).await.1, 0);
}
