//! Compiles the protocol `.proto` files in `proto/` with protox (pure Rust, no system
//! `protoc`) and generates prost types plus tonic clients/servers. The descriptor set is
//! kept for gRPC server reflection on the devnet.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "../proto/emissions/v3/types.proto",
        "../proto/emissions/v9/types.proto",
        "../proto/emissions/v9/tx.proto",
        "../proto/emissions/v9/query.proto",
        "../proto/emissions/v10/types.proto",
        "../proto/emissions/v10/tx.proto",
        "../proto/emissions/v10/query.proto",
        "../proto/feemarket/feemarket/v1/query.proto",
    ];
    println!("cargo:rerun-if-changed=../proto");
    let fds = protox::compile(files, ["../proto"])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("allora_descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;
    tonic_build::configure()
        .build_client(true)
        .build_server(true)
        .extern_path(
            ".cosmos.base.v1beta1",
            "::cosmos_sdk_proto::cosmos::base::v1beta1",
        )
        .compile_fds(fds)?;
    Ok(())
}
