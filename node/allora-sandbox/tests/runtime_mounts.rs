//! Read-only model directories (issue #12 item 3) with a real compiled component
//! (`adapters-wasm/hostile`, mode `fs`): a guest reads what is mounted and nothing else; it
//! can neither change the mount nor leave it by `..`, an absolute host path or a symlink.

mod runtime_common;

use std::path::{Path, PathBuf};

use allora_sandbox::{Adapter, Limits, LoadError, Mount, Role};
use runtime_common::*;

const MODEL: &[u8] = b"0123456789 a model of 23";

/// `<scratch>/mount/model.bin` (mounted) next to `<scratch>/secret.txt` (not mounted).
fn layout(name: &str) -> (PathBuf, PathBuf) {
    let root = scratch(name);
    let mount = root.join("mount");
    std::fs::create_dir_all(mount.join("sub")).unwrap();
    std::fs::write(mount.join("model.bin"), MODEL).unwrap();
    std::fs::write(mount.join("sub/w.txt"), b"w").unwrap();
    std::fs::write(root.join("secret.txt"), b"the wallet mnemonic").unwrap();
    (root, mount)
}

async fn load_with(mounts: Vec<Mount>) -> Result<Adapter, LoadError> {
    let mut s = spec("hostile.wasm", &[Role::Inference], &[], Limits::default());
    s.mounts = mounts;
    runtime().load(s).await
}

/// Runs `op` on `path`; `Ok(count)` or the guest's error text.
async fn fs(a: &Adapter, op: &str, path: &str) -> Result<String, String> {
    a.infer(&ctx(1, 1, &[("mode", "fs"), ("op", op), ("path", path)]))
        .await
        .map(|v| v[0].value.clone())
        .map_err(|e| e.to_string())
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

#[tokio::test]
async fn a_guest_reads_mounted_files() {
    let (root, mount) = layout("read");
    let a = load_with(vec![Mount::new(&mount, "/model")]).await.unwrap();
    assert_eq!(
        fs(&a, "read", "/model/model.bin").await,
        Ok(MODEL.len().to_string())
    );
    assert_eq!(fs(&a, "read", "/model/sub/w.txt").await, Ok("1".into()));
    assert_eq!(fs(&a, "list", "/model").await, Ok("2".into()));
    // A symlink that stays inside the mount is followed.
    std::os::unix::fs::symlink("model.bin", mount.join("inside")).unwrap();
    assert_eq!(
        fs(&a, "read", "/model/inside").await,
        Ok(MODEL.len().to_string())
    );
    let _ = std::fs::remove_dir_all(root);
}

#[tokio::test]
async fn a_mount_cannot_be_written_created_in_or_removed_from() {
    let (root, mount) = layout("write");
    let a = load_with(vec![Mount::new(&mount, "/model")]).await.unwrap();
    for (op, path) in [
        ("write", "/model/model.bin"),
        ("append", "/model/model.bin"),
        ("create", "/model/new.bin"),
        ("create", "/model/sub/new.bin"),
        ("mkdir", "/model/newdir"),
        ("remove", "/model/model.bin"),
    ] {
        let err = fs(&a, op, path).await.unwrap_err();
        assert!(err.contains(&format!("{op} {path}")), "{op} {path}: {err}");
    }
    assert_eq!(std::fs::read(mount.join("model.bin")).unwrap(), MODEL);
    assert!(!mount.join("new.bin").exists() && !mount.join("newdir").exists());
    assert!(!mount.join("sub/new.bin").exists());
    let _ = std::fs::remove_dir_all(root);
}

#[tokio::test]
async fn a_guest_cannot_read_outside_its_mount() {
    let (root, mount) = layout("escape");
    let secret = root.join("secret.txt");
    std::os::unix::fs::symlink(&secret, mount.join("abs-link")).unwrap();
    std::os::unix::fs::symlink("../secret.txt", mount.join("rel-link")).unwrap();
    std::os::unix::fs::symlink(&root, mount.join("dir-link")).unwrap();
    let a = load_with(vec![Mount::new(&mount, "/model")]).await.unwrap();
    // The control: the same guest reads inside the mount.
    assert!(fs(&a, "read", "/model/model.bin").await.is_ok());
    for path in [
        "/model/../secret.txt".to_string(),
        "/model/sub/../../secret.txt".to_string(),
        s(&secret),
        "/etc/passwd".into(),
        "/model/abs-link".into(),
        "/model/rel-link".into(),
        "/model/dir-link/secret.txt".into(),
        "secret.txt".into(),
    ] {
        let r = fs(&a, "read", &path).await;
        assert!(r.is_err(), "{path} was readable: {r:?}");
    }
    for dir in ["/", "/model/..", "."] {
        let r = fs(&a, "list", dir).await;
        assert!(r.is_err(), "{dir} was listable: {r:?}");
    }
    let _ = std::fs::remove_dir_all(root);
}

#[tokio::test]
async fn without_a_mount_no_file_is_visible() {
    let (root, mount) = layout("none");
    let a = load_with(Vec::new()).await.unwrap();
    for path in ["/model/model.bin".to_string(), s(&mount.join("model.bin"))] {
        let r = fs(&a, "read", &path).await;
        assert!(r.is_err(), "{path} was readable: {r:?}");
    }
    for dir in ["/", "."] {
        assert!(fs(&a, "list", dir).await.is_err(), "{dir} was listable");
    }
    let _ = std::fs::remove_dir_all(root);
}

#[tokio::test]
async fn unusable_mounts_fail_the_load_naming_the_mount() {
    let (root, mount) = layout("bad");
    let cases: Vec<(Mount, &str)> = vec![
        (Mount::new(root.join("missing"), "/model"), "No such file"),
        (
            Mount::new(mount.join("model.bin"), "/model"),
            "not a directory",
        ),
        (Mount::new(&mount, "model"), "not absolute"),
        (
            Mount {
                max_bytes: MODEL.len() as u64,
                ..Mount::new(&mount, "/model")
            },
            "size cap",
        ),
    ];
    for (m, want) in cases {
        let shown = format!("{} -> {}", m.host.display(), m.guest);
        let err = load_with(vec![m]).await.err().expect("load must fail");
        assert!(matches!(err, LoadError::Mount { .. }), "{err}");
        let text = err.to_string();
        assert!(text.contains(want) && text.contains(&shown), "{text}");
    }
    let err = load_with(vec![Mount::new(&mount, "/m"), Mount::new(&mount, "/m/")])
        .await
        .err()
        .expect("duplicate guest path");
    assert!(err.to_string().contains("twice"), "{err}");
    // Exactly at the cap loads.
    let at_cap = Mount {
        max_bytes: (MODEL.len() + 1) as u64,
        ..Mount::new(&mount, "/model")
    };
    load_with(vec![at_cap]).await.unwrap();
    let _ = std::fs::remove_dir_all(root);
}
