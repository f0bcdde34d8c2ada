//! Reputer loss micro-benchmark: built-in loss vs the `custom_loss.wasm` adapter.

#[allow(unused_imports)]
use super::*;

pub(crate) fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

pub(crate) async fn loss_bench() {
    const WORKERS: usize = 500;
    let truth = "3001.5";
    let preds: Vec<String> = (0..WORKERS)
        .map(|i| format!("{}.{:02}", 2990 + i % 20, i % 100))
        .collect();

    let mse = LossMethod::parse("mse").unwrap();
    let builtin = || {
        let raw = scoring::builtin_losses(&mse, truth, &preds).unwrap();
        scoring::submitted(&raw, mse.never_negative()).unwrap()
    };
    assert_eq!(builtin().len(), WORKERS);
    let mut t_builtin = Vec::new();
    for _ in 0..2000 {
        let s = Instant::now();
        std::hint::black_box(builtin());
        t_builtin.push(s.elapsed());
    }

    let rt = AdapterRuntime::new(RuntimeConfig::default()).unwrap();
    let adapter = rt
        .load(AdapterSpec {
            name: "custom_loss".into(),
            wasm: dist("custom_loss.wasm"),
            roles: vec![Role::Loss],
            limits: allora_node::config::plan::default_limits(),
            allowed_hosts: Default::default(),
            mounts: Vec::new(),
        })
        .await
        .expect("load custom_loss.wasm");
    let ctx = CallContext {
        topic_id: 1,
        nonce: 10,
        params: BTreeMap::new(),
        deadline: None,
    };
    let wasm = || async {
        let raw = adapter.loss(&ctx, truth, &preds).await.unwrap();
        let nn = adapter.loss_never_negative(&ctx).await.unwrap();
        scoring::submitted(&raw, nn).unwrap()
    };
    assert_eq!(wasm().await.len(), WORKERS);
    let mut t_wasm = Vec::new();
    for _ in 0..500 {
        let s = Instant::now();
        std::hint::black_box(wasm().await);
        t_wasm.push(s.elapsed());
    }
    let (b, w) = (median(t_builtin), median(t_wasm));
    println!(
        "\n### Reputer loss bundle: losses for {WORKERS} workers (raw loss → log10 rule → decimal)\n"
    );
    println!("| loss | median | runs |");
    println!("|---|---|---|");
    println!(
        "| built-in `mse` (`actors::scoring::builtin_losses` + `submitted`) | {:.1} µs | 2000 |",
        b.as_secs_f64() * 1e6
    );
    println!(
        "| `custom_loss.wasm` (pinball, 2 calls: `loss` + `never-negative`, fresh instance each) + `submitted` | {:.1} µs | 500 |",
        w.as_secs_f64() * 1e6
    );
    println!(
        "\nwasm / built-in: {:.1}×",
        w.as_secs_f64() / b.as_secs_f64()
    );
}
