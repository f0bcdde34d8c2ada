//! `allora-node keys`: create, restore, show and list wallet keys in the node's keystore
//! (`<home>/keys`). Mnemonics are read from a file or stdin, never from argv (argv is
//! visible to every process on the machine and lands in shell history).

use std::io::Read;
use std::path::PathBuf;

use anyhow::Context;
use zeroize::Zeroizing;

use allora_chain_client::keys::store::{Keystore, default_home};

/// Arguments of `allora-node keys`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Node home directory (keys live in `<home>/keys`).
    #[arg(long, global = true, env = "ALLORA_NODE_HOME")]
    pub home: Option<PathBuf>,
    #[command(subcommand)]
    pub command: KeysCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum KeysCommand {
    /// Generate a new key; prints its 24-word mnemonic once — write it down.
    Add {
        /// Key name (letters, digits, '-', '_', '.').
        name: String,
    },
    /// Store an existing mnemonic under a name.
    Restore {
        name: String,
        /// File holding the mnemonic, or `-` for stdin.
        #[arg(long, value_name = "PATH|-")]
        mnemonic_file: PathBuf,
    },
    /// Print a key's address and public key.
    Show { name: String },
    /// List stored keys.
    List,
}

/// Runs the subcommand; the returned value is the process exit code.
pub async fn run(args: Args) -> anyhow::Result<i32> {
    let home = args.home.unwrap_or_else(default_home);
    let ks = Keystore::new(&home);
    match args.command {
        KeysCommand::Add { name } => {
            let (wallet, phrase) = ks.add(&name)?;
            println!("name:    {name}");
            println!("address: {}", wallet.address());
            println!("pubkey:  {}", wallet.pubkey_hex());
            println!();
            println!("mnemonic (shown once; anyone with it controls the account):");
            println!("{}", phrase.as_str());
        }
        KeysCommand::Restore {
            name,
            mnemonic_file,
        } => {
            let phrase = read_mnemonic(&mnemonic_file)?;
            let wallet = ks.restore(&name, &phrase)?;
            println!("name:    {name}");
            println!("address: {}", wallet.address());
            println!("pubkey:  {}", wallet.pubkey_hex());
        }
        KeysCommand::Show { name } => {
            let info = ks.show(&name)?;
            println!("name:    {}", info.name);
            println!("address: {}", info.address);
            println!("pubkey:  {}", info.pubkey);
        }
        KeysCommand::List => {
            let keys = ks.list()?;
            if keys.is_empty() {
                eprintln!("no keys in {}", ks.dir().display());
            }
            for k in keys {
                println!("{}\t{}", k.name, k.address);
            }
        }
    }
    Ok(0)
}

fn read_mnemonic(path: &std::path::Path) -> anyhow::Result<Zeroizing<String>> {
    let mut s = Zeroizing::new(String::new());
    if path.as_os_str() == "-" {
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading the mnemonic from stdin")?;
    } else {
        std::fs::File::open(path)
            .and_then(|mut f| f.read_to_string(&mut s))
            .with_context(|| format!("reading the mnemonic file {}", path.display()))?;
    }
    Ok(s)
}
