//! `cosmos.base.tendermint.v1beta1.Service`: node info (the chain id a node checks), syncing,
//! and blocks by height. Other methods answer UNIMPLEMENTED.

use cosmos_sdk_proto::cosmos::base::tendermint::v1beta1 as tm;
use tonic::{Request, Status};

use tm::service_server::Service as TmService;

use super::{R, Services, ok, unimplemented};
use crate::node::BlockRecord;

fn timestamp(nanos: i128) -> cosmos_sdk_proto::Timestamp {
    cosmos_sdk_proto::Timestamp {
        seconds: (nanos / 1_000_000_000) as i64,
        nanos: (nanos % 1_000_000_000) as i32,
    }
}

fn block_parts(
    chain_id: &str,
    b: &BlockRecord,
) -> (
    cosmos_sdk_proto::tendermint::types::BlockId,
    cosmos_sdk_proto::tendermint::types::Block,
    tm::Block,
) {
    use cosmos_sdk_proto::tendermint::types as tt;
    let block_id = tt::BlockId {
        hash: b.hash.clone(),
        part_set_header: Some(tt::PartSetHeader {
            total: 1,
            hash: b.hash.clone(),
        }),
    };
    let last_block_id = tt::BlockId {
        hash: b.last_hash.clone(),
        part_set_header: Some(tt::PartSetHeader {
            total: 1,
            hash: b.last_hash.clone(),
        }),
    };
    let version = cosmos_sdk_proto::tendermint::version::Consensus { block: 11, app: 0 };
    let data = tt::Data { txs: b.txs.clone() };
    let header = tt::Header {
        version: Some(version),
        chain_id: chain_id.to_string(),
        height: b.height,
        time: Some(timestamp(b.time_unix_nanos)),
        last_block_id: Some(last_block_id.clone()),
        ..Default::default()
    };
    let block = tt::Block {
        header: Some(header),
        data: Some(data.clone()),
        evidence: None,
        last_commit: None,
    };
    let sdk_header = tm::Header {
        version: Some(version),
        chain_id: chain_id.to_string(),
        height: b.height,
        time: Some(timestamp(b.time_unix_nanos)),
        last_block_id: Some(last_block_id),
        ..Default::default()
    };
    let sdk_block = tm::Block {
        header: Some(sdk_header),
        data: Some(data),
        evidence: None,
        last_commit: None,
    };
    (block_id, block, sdk_block)
}

#[tonic::async_trait]
impl TmService for Services {
    async fn get_node_info(
        &self,
        _r: Request<tm::GetNodeInfoRequest>,
    ) -> R<tm::GetNodeInfoResponse> {
        self.guard().await?;
        let chain_id = self.with_state(|s| s.chain_id.clone());
        ok(tm::GetNodeInfoResponse {
            default_node_info: Some(cosmos_sdk_proto::tendermint::p2p::DefaultNodeInfo {
                network: chain_id,
                moniker: self.node.moniker.clone(),
                version: "0.38.12".to_string(),
                ..Default::default()
            }),
            application_version: Some(tm::VersionInfo {
                name: "allora-devnet".to_string(),
                app_name: "allora-node devnet".to_string(),
                version: env!("CARGO_PKG_VERSION").to_string(),
                cosmos_sdk_version: "v0.50".to_string(),
                ..Default::default()
            }),
        })
    }

    async fn get_syncing(&self, _r: Request<tm::GetSyncingRequest>) -> R<tm::GetSyncingResponse> {
        self.guard().await?;
        ok(tm::GetSyncingResponse { syncing: false })
    }

    async fn get_latest_block(
        &self,
        _r: Request<tm::GetLatestBlockRequest>,
    ) -> R<tm::GetLatestBlockResponse> {
        self.guard().await?;
        let chain = self.node.lock();
        let b = chain
            .blocks
            .last()
            .cloned()
            .ok_or_else(|| Status::unavailable("no block produced yet"))?;
        let (block_id, block, sdk_block) = block_parts(&chain.committed.chain_id, &b);
        #[allow(deprecated)]
        let resp = tm::GetLatestBlockResponse {
            block_id: Some(block_id),
            block: Some(block),
            sdk_block: Some(sdk_block),
        };
        ok(resp)
    }

    async fn get_block_by_height(
        &self,
        r: Request<tm::GetBlockByHeightRequest>,
    ) -> R<tm::GetBlockByHeightResponse> {
        self.guard().await?;
        let h = r.into_inner().height;
        let chain = self.node.lock();
        let b = usize::try_from(h - 1)
            .ok()
            .and_then(|i| chain.blocks.get(i).cloned())
            .ok_or_else(|| {
                Status::invalid_argument(format!("requested block height {h} is not available"))
            })?;
        let (block_id, block, sdk_block) = block_parts(&chain.committed.chain_id, &b);
        #[allow(deprecated)]
        let resp = tm::GetBlockByHeightResponse {
            block_id: Some(block_id),
            block: Some(block),
            sdk_block: Some(sdk_block),
        };
        ok(resp)
    }

    async fn get_latest_validator_set(
        &self,
        _request: tonic::Request<tm::GetLatestValidatorSetRequest>,
    ) -> core::result::Result<tonic::Response<tm::GetLatestValidatorSetResponse>, tonic::Status>
    {
        Err(unimplemented("get_latest_validator_set"))
    }
    async fn get_validator_set_by_height(
        &self,
        _request: tonic::Request<tm::GetValidatorSetByHeightRequest>,
    ) -> core::result::Result<tonic::Response<tm::GetValidatorSetByHeightResponse>, tonic::Status>
    {
        Err(unimplemented("get_validator_set_by_height"))
    }
    async fn abci_query(
        &self,
        _request: tonic::Request<tm::AbciQueryRequest>,
    ) -> core::result::Result<tonic::Response<tm::AbciQueryResponse>, tonic::Status> {
        Err(unimplemented("abci_query"))
    }
}
