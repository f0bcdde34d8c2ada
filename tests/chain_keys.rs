//! `allora-node keys add|restore|show|list` as a user runs them: the real binary, a
//! temporary home directory, the mnemonic shown once and read from stdin, files mode 0600.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use allora_chain_client::keys::Wallet;

const PHRASE: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

fn home() -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "allora-node-keys-cli-{}-{}",
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn keys(home: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_allora-node"));
    cmd.arg("keys")
        .arg("--home")
        .arg(home)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run allora-node");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn field(out: &str, name: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in {out}"))
        .trim()
        .to_owned()
}

#[test]
fn keys_commands() {
    let home = home();

    // add: prints address, pubkey and the mnemonic once; the mnemonic derives the address
    let o = keys(&home, &["add", "worker1"], None);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let address = field(&out, "address");
    let phrase = out
        .lines()
        .skip_while(|l| !l.starts_with("mnemonic"))
        .nth(1)
        .expect("mnemonic line")
        .to_owned();
    assert_eq!(phrase.split_whitespace().count(), 24);
    assert_eq!(Wallet::from_mnemonic(&phrase).unwrap().address(), address);

    // show never prints the mnemonic
    let o = keys(&home, &["show", "worker1"], None);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        field(&String::from_utf8_lossy(&o.stdout), "address"),
        address
    );
    assert!(!text(&o).contains(&phrase));

    // restore from stdin
    let o = keys(
        &home,
        &["restore", "rep", "--mnemonic-file", "-"],
        Some(PHRASE),
    );
    assert!(o.status.success(), "{}", text(&o));
    let expected = Wallet::from_mnemonic(PHRASE).unwrap();
    assert_eq!(
        field(&String::from_utf8_lossy(&o.stdout), "address"),
        expected.address()
    );
    // restore from a file
    let f = home.join("m.txt");
    std::fs::write(&f, PHRASE).unwrap();
    let o = keys(
        &home,
        &["restore", "rep2", "--mnemonic-file", f.to_str().unwrap()],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));

    // list
    let o = keys(&home, &["list"], None);
    let listed = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(listed.lines().count(), 3, "{listed}");
    assert!(listed.contains(&address) && listed.contains(expected.address()));

    // files are private
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for name in ["worker1", "rep", "rep2"] {
            let mode = std::fs::metadata(home.join("keys").join(format!("{name}.json")))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
    }

    // malformed mnemonic: non-zero exit, says so, does not echo the words
    let o = keys(
        &home,
        &["restore", "bad", "--mnemonic-file", "-"],
        Some("correct horse battery staple zzsecretzz"),
    );
    assert!(!o.status.success());
    let t = text(&o);
    assert!(t.contains("mnemonic"), "{t}");
    assert!(!t.contains("zzsecretzz") && !t.contains("horse"), "{t}");

    // a mnemonic is never accepted on the command line
    let o = keys(&home, &["restore", "argv", PHRASE], None);
    assert!(!o.status.success());

    // duplicate names are refused
    let o = keys(&home, &["add", "worker1"], None);
    assert!(!o.status.success());
    assert!(text(&o).contains("already exists"), "{}", text(&o));

    std::fs::remove_dir_all(home).unwrap();
}
