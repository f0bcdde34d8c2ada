//! Ledger durability, keying and bounds.

use super::*;

#[tokio::test]
async fn survives_reopen_and_separates_chains_wallets_roles_and_topics() {
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::open(dir.path(), "chain-a", "allo1abc")
        .await
        .unwrap();
    l.settle(Role::Worker, 1, 100).await.unwrap();
    l.settle(Role::Reputer, 2, 90).await.unwrap();
    drop(l);
    let again = Ledger::open(dir.path(), "chain-a", "allo1abc")
        .await
        .unwrap();
    assert!(again.contains(Role::Worker, 1, 100));
    assert!(!again.contains(Role::Reputer, 1, 100));
    assert!(again.contains(Role::Reputer, 2, 90));
    assert!(!again.contains(Role::Worker, 2, 90));
    let other_wallet = Ledger::open(dir.path(), "chain-a", "allo1other")
        .await
        .unwrap();
    assert!(!other_wallet.contains(Role::Worker, 1, 100));
    // A reset chain under a new id starts its own book: height 100 there is a new nonce.
    let reset = Ledger::open(dir.path(), "chain-b", "allo1abc")
        .await
        .unwrap();
    assert!(!reset.contains(Role::Worker, 1, 100));
    reset.settle(Role::Worker, 1, 5).await.unwrap();
    // Going back to the first chain finds its book intact.
    let back = Ledger::open(dir.path(), "chain-a", "allo1abc")
        .await
        .unwrap();
    assert!(back.contains(Role::Worker, 1, 100));
    assert!(!back.contains(Role::Worker, 1, 5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_settles_are_all_durable() {
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::open(dir.path(), "c", "a").await.unwrap();
    let mut tasks = Vec::new();
    for topic in 0..8u64 {
        let l = l.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..25i64 {
                l.settle(Role::Worker, topic, n).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let again = Ledger::open(dir.path(), "c", "a").await.unwrap();
    for topic in 0..8u64 {
        for n in 0..25i64 {
            assert!(again.contains(Role::Worker, topic, n), "lost {topic}/{n}");
        }
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn prunes_far_behind_and_caps_per_topic() {
    let l = Ledger::in_memory();
    l.settle(Role::Worker, 1, 10).await.unwrap();
    l.settle(Role::Worker, 1, 10 + PRUNE_BEHIND_BLOCKS + 1)
        .await
        .unwrap();
    assert!(!l.contains(Role::Worker, 1, 10));
    assert!(l.contains(Role::Worker, 1, 10 + PRUNE_BEHIND_BLOCKS + 1));
    for n in 0..(KEEP_PER_TOPIC as i64 + 10) {
        l.settle(Role::Reputer, 1, n).await.unwrap();
    }
    assert!(!l.contains(Role::Reputer, 1, 0));
    assert!(l.contains(Role::Reputer, 1, KEEP_PER_TOPIC as i64 + 9));
}

#[tokio::test]
async fn corrupt_file_is_moved_aside_and_replaced() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ledger-a.json"), b"{not json").unwrap();
    let l = Ledger::open(dir.path(), "c", "a").await.unwrap();
    assert!(!l.contains(Role::Worker, 1, 1));
    assert!(dir.path().join("ledger-a.json.corrupt").is_file());
    l.settle(Role::Worker, 1, 1).await.unwrap();
    assert!(
        Ledger::open(dir.path(), "c", "a")
            .await
            .unwrap()
            .contains(Role::Worker, 1, 1)
    );
}

#[tokio::test]
async fn intents_survive_reopen_until_cleared() {
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::open(dir.path(), "c", "a").await.unwrap();
    let i = Intent {
        kind: "add_stake".into(),
        amount: 70,
        tx_hashes: Vec::new(),
        deadline: 12,
    };
    l.record_intent("add_stake/2", i.clone()).await.unwrap();
    assert!(l.add_intent_hash("add_stake/2", "ABCD", 14).await.unwrap());
    assert!(
        !l.add_intent_hash("register_worker/2", "EF", 14)
            .await
            .unwrap()
    );
    let again = Ledger::open(dir.path(), "c", "a").await.unwrap();
    let mut want = i.clone();
    want.tx_hashes = vec!["ABCD".into()];
    want.deadline = 14;
    assert_eq!(
        again.intent("add_stake/2"),
        Some(want),
        "hash and deadline are durable"
    );
    again.clear_intent("add_stake/2").await.unwrap();
    let third = Ledger::open(dir.path(), "c", "a").await.unwrap();
    assert_eq!(third.intent("add_stake/2"), None);
}

#[test]
fn intents_written_before_hashes_still_load() {
    let old = r#"{"kind":"add_stake","amount":70,"tx_hash":"","height":31}"#;
    let i: Intent = serde_json::from_str(old).unwrap();
    assert_eq!(i.deadline, 31);
    assert!(i.tx_hashes.is_empty());
}

#[test]
fn durable_write_replaces_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f.json");
    write_durable(&p, b"one").unwrap();
    write_durable(&p, b"two").unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), b"two");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}
