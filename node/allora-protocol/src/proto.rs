//! Generated protobuf types and gRPC stubs for the Allora protocol (emissions v3/v9/v10)
//! and the feemarket gas-price query. The `.proto` sources live in `node/proto/` and are
//! written from `shared/reference/allora-protocol.md`; cosmos types come from
//! `cosmos-sdk-proto`. Version-specific *encoding rules* live in [`crate::v10`].

#![allow(clippy::all, missing_docs)]

pub mod emissions {
    pub mod v3 {
        tonic::include_proto!("emissions.v3");
    }
    pub mod v9 {
        tonic::include_proto!("emissions.v9");
    }
    pub mod v10 {
        tonic::include_proto!("emissions.v10");
    }
}

pub mod feemarket {
    pub mod v1 {
        tonic::include_proto!("feemarket.feemarket.v1");
    }
}

/// Encoded `FileDescriptorSet` of every proto above, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("allora_descriptor");

pub use cosmos_sdk_proto as cosmos;
