//! deploy/kubernetes/base: the one-pod-per-wallet invariants, checked on the manifests, and the
//! config each pod gets, loaded by the node's real config code. Schema and policy validation
//! (kubernetes-validate, checkov) run in `scripts/test-kubernetes`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_yaml_ng::Value as Yaml;

const BASE: &str = "deploy/kubernetes/base";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
}

/// Every document of every resource the kustomization lists.
fn resources() -> Vec<Yaml> {
    let k: Yaml =
        serde_yaml_ng::from_str(&read(&format!("{BASE}/kustomization.yaml"))).expect("yaml");
    let mut out = Vec::new();
    for r in k["resources"].as_sequence().expect("resources") {
        let file = r.as_str().expect("resource path");
        let text = read(&format!("{BASE}/{file}"));
        for doc in serde_yaml_ng::Deserializer::from_str(&text) {
            out.push(Yaml::deserialize(doc).expect("YAML document"));
        }
    }
    out
}

fn of_kind<'a>(all: &'a [Yaml], kind: &str) -> Vec<&'a Yaml> {
    all.iter().filter(|r| r["kind"] == kind).collect()
}

fn one<'a>(all: &'a [Yaml], kind: &str) -> &'a Yaml {
    let v = of_kind(all, kind);
    assert_eq!(v.len(), 1, "exactly one {kind} expected");
    v[0]
}

fn s(v: &Yaml) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v:?}"))
}

fn labels(v: &Yaml) -> BTreeMap<String, String> {
    v.as_mapping()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (s(k).to_string(), s(v).to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn subset(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> bool {
    !a.is_empty() && a.iter().all(|(k, v)| b.get(k) == Some(v))
}

fn container(sts: &Yaml) -> &Yaml {
    let cs = sts["spec"]["template"]["spec"]["containers"]
        .as_sequence()
        .expect("containers");
    assert_eq!(cs.len(), 1, "one container: the node");
    &cs[0]
}

fn env(c: &Yaml) -> BTreeMap<String, Yaml> {
    c["env"]
        .as_sequence()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                s(&e["name"]).to_string(),
                if e["value"].is_null() {
                    e["valueFrom"].clone()
                } else {
                    e["value"].clone()
                },
            )
        })
        .collect()
}

fn mount<'a>(c: &'a Yaml, volume: &str) -> &'a Yaml {
    c["volumeMounts"]
        .as_sequence()
        .expect("volumeMounts")
        .iter()
        .find(|m| m["name"] == volume)
        .unwrap_or_else(|| panic!("no mount of volume {volume}"))
}

fn volume<'a>(sts: &'a Yaml, name: &str) -> &'a Yaml {
    sts["spec"]["template"]["spec"]["volumes"]
        .as_sequence()
        .expect("volumes")
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("no volume {name}"))
}

#[test]
fn one_pod_per_wallet_and_never_two_pods_with_one_key() {
    let all = resources();
    for kind in ["Deployment", "ReplicaSet", "DaemonSet", "Job", "CronJob"] {
        assert!(
            of_kind(&all, kind).is_empty(),
            "a {kind} could run two pods with one key"
        );
    }
    let sts = one(&all, "StatefulSet");
    let spec = &sts["spec"];
    // A StatefulSet replaces pod N only after it is gone: no surge. OnDelete or RollingUpdate
    // both keep that; maxSurge (a Deployment notion) must not appear.
    let strategy = s(&spec["updateStrategy"]["type"]);
    assert!(["RollingUpdate", "OnDelete"].contains(&strategy));
    assert!(spec["updateStrategy"]["rollingUpdate"]["maxSurge"].is_null());
    assert!(["Parallel", "OrderedReady"].contains(&s(&spec["podManagementPolicy"])));
    // Each ordinal keeps its own ReadWriteOnce data volume (ledger: exactly once across restarts).
    let claims = spec["volumeClaimTemplates"].as_sequence().expect("claims");
    let data_claim = claims
        .iter()
        .find(|c| c["metadata"]["name"] == "data")
        .expect("data claim");
    assert_eq!(
        data_claim["spec"]["accessModes"][0].as_str(),
        Some("ReadWriteOnce")
    );

    // Pod N picks wallet N from its index label, for both the config and the key, and sees only
    // its own key file.
    let c = container(sts);
    let e = env(c);
    assert_eq!(
        e["POD_INDEX"]["fieldRef"]["fieldPath"].as_str(),
        Some("metadata.labels['apps.kubernetes.io/pod-index']")
    );
    let keys = mount(c, "keys");
    assert_eq!(s(&keys["subPathExpr"]), "wallet-$(POD_INDEX)");
    assert_eq!(keys["readOnly"].as_bool(), Some(true));
    let secret = &volume(sts, "keys")["secret"];
    assert!(!s(&secret["secretName"]).is_empty());
    let mode = secret["defaultMode"].as_u64().expect("defaultMode");
    assert_eq!(mode & 0o007, 0, "key file readable by others: {mode:o}");
    let config = mount(c, "config");
    assert_eq!(s(&config["subPathExpr"]), "wallet-$(POD_INDEX).json");
    assert_eq!(
        e["ALLORA_OFFCHAIN_NODE_CONFIG_FILE_PATH"].as_str(),
        config["mountPath"].as_str()
    );
    // No Secret with key material is part of the base (it is created out of band).
    let secrets = of_kind(&all, "Secret");
    assert!(
        secrets.is_empty(),
        "the base must not ship a Secret: {secrets:?}"
    );
}

#[test]
fn every_wallet_config_loads_with_the_real_node_and_uses_the_mounted_key_file() {
    let all = resources();
    let sts = one(&all, "StatefulSet");
    let c = container(sts);
    let key_path = s(&mount(c, "keys")["mountPath"]).to_string();
    let config_path = PathBuf::from(s(&mount(c, "config")["mountPath"]));
    let app_dir = config_path.parent().expect("config dir");
    let data_mount = PathBuf::from(s(&mount(c, "data")["mountPath"]));
    let replicas = sts["spec"]["replicas"].as_u64().expect("replicas");
    let cm_name = s(&volume(sts, "config")["configMap"]["name"]);
    let cm = of_kind(&all, "ConfigMap")
        .into_iter()
        .find(|m| m["metadata"]["name"] == cm_name)
        .expect("the mounted ConfigMap is in the base");
    let data = cm["data"].as_mapping().expect("data");
    let container_port = c["ports"][0]["containerPort"].as_u64().expect("port");

    for n in 0..replicas {
        let file = format!("wallet-{n}.json");
        let text = data
            .get(Yaml::String(file.clone()))
            .and_then(Yaml::as_str)
            .unwrap_or_else(|| panic!("replica {n} has no {file} in the ConfigMap"));
        let mut cfg: serde_json::Value = serde_json::from_str(text).expect("config JSON");
        let w = &cfg["wallet"];
        assert_eq!(
            w["mnemonicFile"].as_str(),
            Some(key_path.as_str()),
            "{file}"
        );
        assert!(
            w["addressRestoreMnemonic"]
                .as_str()
                .is_none_or(|m| m.trim().is_empty()),
            "{file}: a mnemonic in a ConfigMap"
        );
        // Relative paths resolve against the config's directory (/app in the pod); everything
        // the node writes must land on the data volume.
        for (field, v) in [
            ("wallet.alloraHomeDir", &w["alloraHomeDir"]),
            ("node.cacheDir", &cfg["node"]["cacheDir"]),
        ] {
            let p = app_dir.join(v.as_str().unwrap_or_else(|| panic!("{file}: {field}")));
            assert!(
                p.starts_with(&data_mount),
                "{file}: {field} {} is not on the data volume {}",
                p.display(),
                data_mount.display()
            );
        }

        // The real loader, in a directory laid out like the pod's /app.
        let dir = tempfile::tempdir().expect("tempdir");
        std::os::unix::fs::symlink(
            repo().join("adapters-wasm"),
            dir.path().join("adapters-wasm"),
        )
        .expect("symlink adapters");
        let mnemonic = dir.path().join("mnemonic");
        std::fs::write(&mnemonic, allora_devnet::TEST_MNEMONICS[0]).expect("write mnemonic");
        cfg["wallet"]["mnemonicFile"] = serde_json::json!(mnemonic);
        // $ALLORA_NODE_ADAPTERS_DIR in the pod (the image's shipped adapters), as node.adaptersDir.
        let adapters_env = env(c)["ALLORA_NODE_ADAPTERS_DIR"]
            .as_str()
            .expect("ALLORA_NODE_ADAPTERS_DIR")
            .to_string();
        let rel = Path::new(&adapters_env)
            .strip_prefix(app_dir)
            .expect("adapters dir under the config dir");
        cfg["node"]["adaptersDir"] = serde_json::json!(dir.path().join(rel));
        let plan = allora_node::config::load_str(&cfg.to_string(), &file, dir.path())
            .unwrap_or_else(|e| panic!("{file} does not load with the node's config code: {e}"));
        assert_eq!(u64::from(plan.node.metrics_addr.port()), container_port);
    }
}

#[test]
fn probes_resources_and_a_locked_down_container() {
    let all = resources();
    let sts = one(&all, "StatefulSet");
    let c = container(sts);
    let port_name = s(&c["ports"][0]["name"]).to_string();
    for (probe, path) in [
        ("startupProbe", "/health"),
        ("livenessProbe", "/health"),
        ("readinessProbe", "/ready"),
    ] {
        assert_eq!(c[probe]["httpGet"]["path"].as_str(), Some(path), "{probe}");
        assert_eq!(
            c[probe]["httpGet"]["port"].as_str(),
            Some(port_name.as_str())
        );
    }
    for kind in ["requests", "limits"] {
        for r in ["cpu", "memory"] {
            assert!(
                !c["resources"][kind][r].is_null(),
                "resources.{kind}.{r} missing"
            );
        }
    }
    let sc = &c["securityContext"];
    assert_eq!(sc["runAsNonRoot"].as_bool(), Some(true));
    assert_eq!(sc["readOnlyRootFilesystem"].as_bool(), Some(true));
    assert_eq!(sc["allowPrivilegeEscalation"].as_bool(), Some(false));
    assert_eq!(sc["capabilities"]["drop"][0].as_str(), Some("ALL"));
    // The uid is the image's own user (Dockerfile: useradd --uid N).
    let uid = read("Dockerfile")
        .split("--uid ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|u| u.parse::<u64>().ok())
        .expect("Dockerfile useradd --uid");
    assert_eq!(sc["runAsUser"].as_u64(), Some(uid));
    assert_eq!(
        sts["spec"]["template"]["spec"]["securityContext"]["fsGroup"].as_u64(),
        Some(uid)
    );
    // With a read-only root, the writable places are volumes: data (claim) and /tmp.
    assert_eq!(s(&mount(c, "tmp")["mountPath"]), "/tmp");
    assert!(!volume(sts, "tmp")["emptyDir"].is_null());
    assert!(mount(c, "data")["readOnly"].as_bool() != Some(true));
}

#[test]
fn monitoring_and_network_policy_select_the_node_pods() {
    let all = resources();
    let sts = one(&all, "StatefulSet");
    let pod_labels = labels(&sts["spec"]["template"]["metadata"]["labels"]);
    assert!(subset(
        &labels(&sts["spec"]["selector"]["matchLabels"]),
        &pod_labels
    ));
    let c = container(sts);
    let port_name = s(&c["ports"][0]["name"]).to_string();
    let port = c["ports"][0]["containerPort"].as_u64().expect("port");

    let pm = one(&all, "PodMonitor");
    assert!(subset(
        &labels(&pm["spec"]["selector"]["matchLabels"]),
        &pod_labels
    ));
    let ep = &pm["spec"]["podMetricsEndpoints"][0];
    assert_eq!(ep["port"].as_str(), Some(port_name.as_str()));
    assert_eq!(ep["path"].as_str(), Some("/metrics"));

    let svc = one(&all, "Service");
    assert!(subset(&labels(&svc["spec"]["selector"]), &pod_labels));
    assert_eq!(
        sts["spec"]["serviceName"].as_str(),
        svc["metadata"]["name"].as_str()
    );

    let np = one(&all, "NetworkPolicy");
    assert!(subset(
        &labels(&np["spec"]["podSelector"]["matchLabels"]),
        &pod_labels
    ));
    let types: Vec<&str> = np["spec"]["policyTypes"]
        .as_sequence()
        .expect("policyTypes")
        .iter()
        .map(s)
        .collect();
    assert!(types.contains(&"Egress") && types.contains(&"Ingress"));
    let egress = serde_json::to_string(&np["spec"]["egress"]).expect("json");
    assert!(egress.contains("\"port\":53"), "DNS egress: {egress}");
    assert!(
        egress.contains("169.254.169.254/32"),
        "metadata address excluded: {egress}"
    );
    let ingress_ports: Vec<u64> = np["spec"]["ingress"]
        .as_sequence()
        .into_iter()
        .flatten()
        .flat_map(|r| r["ports"].as_sequence().cloned().unwrap_or_default())
        .filter_map(|p| p["port"].as_u64())
        .collect();
    assert_eq!(ingress_ports, vec![port], "only the metrics port is open");
}

/// Loads a pod's config with the node's real config code, laid out as in the pod: the key file
/// and the image's adapters dir (`$ALLORA_NODE_ADAPTERS_DIR`, given here as node.adaptersDir).
fn load_like_the_pod(name: &str, text: &str) -> allora_node::config::Plan {
    let mut cfg: serde_json::Value = serde_json::from_str(text).expect("config JSON");
    let dir = tempfile::tempdir().expect("tempdir");
    std::os::unix::fs::symlink(
        repo().join("adapters-wasm"),
        dir.path().join("adapters-wasm"),
    )
    .expect("symlink adapters");
    let mnemonic = dir.path().join("mnemonic");
    std::fs::write(&mnemonic, allora_devnet::TEST_MNEMONICS[0]).expect("write mnemonic");
    cfg["wallet"]["mnemonicFile"] = serde_json::json!(mnemonic);
    cfg["node"]["adaptersDir"] = serde_json::json!(dir.path().join("adapters-wasm/dist"));
    allora_node::config::load_str(&cfg.to_string(), name, dir.path())
        .unwrap_or_else(|e| panic!("{name} does not load with the node's config code: {e}"))
}

/// The example overlays: every wallet config loads, and each (role, topic) belongs to one
/// wallet only (one tx actor per wallet; a topic is not worked twice by accident).
#[test]
fn example_overlays_shard_topics_over_wallets_with_valid_configs() {
    let mut overlays = 0;
    for entry in std::fs::read_dir(repo().join("deploy/kubernetes/examples")).expect("examples") {
        let path = entry.expect("entry").path().join("configs.yaml");
        if !path.is_file() {
            continue;
        }
        overlays += 1;
        let cm: Yaml =
            serde_yaml_ng::from_str(&std::fs::read_to_string(&path).expect("read")).expect("yaml");
        let mut owner: BTreeMap<(String, u64), String> = BTreeMap::new();
        for (k, v) in cm["data"].as_mapping().expect("data") {
            let name = s(k).to_string();
            let plan = load_like_the_pod(&name, s(v));
            assert!(matches!(
                plan.wallet.key,
                allora_node::config::KeySource::MnemonicFile(_)
            ));
            let cfg: serde_json::Value = serde_json::from_str(s(v)).expect("json");
            assert_eq!(
                cfg["wallet"]["mnemonicFile"].as_str(),
                Some("/var/run/allora/mnemonic")
            );
            for role in ["worker", "reputer"] {
                for t in cfg[role].as_array().into_iter().flatten() {
                    let topic = t["topicId"].as_u64().expect("topicId");
                    if let Some(prev) = owner.insert((role.to_string(), topic), name.clone()) {
                        panic!(
                            "{}: {role} topic {topic} in both {prev} and {name}",
                            path.display()
                        );
                    }
                }
            }
        }
    }
    assert!(overlays > 0, "no example overlay with configs.yaml");
}
