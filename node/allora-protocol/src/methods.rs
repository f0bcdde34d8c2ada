//! One table of the gRPC method paths the node calls and the devnet serves. The chain
//! client uses them for the CometBFT `abci_query` fallback (the path is the query route);
//! the devnet routes `abci_query` with the same constants, so the two cannot drift apart.
//! Generated tonic clients and servers carry the same strings for native gRPC.

/// The emissions v10 query service (the version the node speaks; see `crate::v10`).
pub mod emissions {
    pub const GET_PARAMS: &str = "/emissions.v10.QueryService/GetParams";
    pub const GET_TOPIC: &str = "/emissions.v10.QueryService/GetTopic";
    pub const TOPIC_EXISTS: &str = "/emissions.v10.QueryService/TopicExists";
    pub const IS_TOPIC_ACTIVE: &str = "/emissions.v10.QueryService/IsTopicActive";
    pub const GET_NEXT_CHURNING_BLOCK_BY_TOPIC_ID: &str =
        "/emissions.v10.QueryService/GetNextChurningBlockByTopicId";
    pub const IS_WORKER_REGISTERED_IN_TOPIC_ID: &str =
        "/emissions.v10.QueryService/IsWorkerRegisteredInTopicId";
    pub const IS_REPUTER_REGISTERED_IN_TOPIC_ID: &str =
        "/emissions.v10.QueryService/IsReputerRegisteredInTopicId";
    pub const CAN_SUBMIT_WORKER_PAYLOAD: &str =
        "/emissions.v10.QueryService/CanSubmitWorkerPayload";
    pub const CAN_SUBMIT_REPUTER_PAYLOAD: &str =
        "/emissions.v10.QueryService/CanSubmitReputerPayload";
    pub const GET_UNFULFILLED_WORKER_NONCES: &str =
        "/emissions.v10.QueryService/GetUnfulfilledWorkerNonces";
    pub const GET_UNFULFILLED_REPUTER_NONCES: &str =
        "/emissions.v10.QueryService/GetUnfulfilledReputerNonces";
    pub const IS_WORKER_NONCE_UNFULFILLED: &str =
        "/emissions.v10.QueryService/IsWorkerNonceUnfulfilled";
    pub const IS_REPUTER_NONCE_UNFULFILLED: &str =
        "/emissions.v10.QueryService/IsReputerNonceUnfulfilled";
    pub const GET_OPEN_WORKER_SUBMISSION_WINDOWS: &str =
        "/emissions.v10.QueryService/GetOpenWorkerSubmissionWindows";
    pub const GET_OPEN_REPUTER_SUBMISSION_WINDOWS: &str =
        "/emissions.v10.QueryService/GetOpenReputerSubmissionWindows";
    pub const GET_WORKER_SUBMISSION_WINDOW_STATUS: &str =
        "/emissions.v10.QueryService/GetWorkerSubmissionWindowStatus";
    pub const GET_EPOCH: &str = "/emissions.v10.QueryService/GetEpoch";
    pub const GET_TOPIC_EPOCHS: &str = "/emissions.v10.QueryService/GetTopicEpochs";
    pub const GET_REPUTER_SUBMISSION_WINDOW_STATUS: &str =
        "/emissions.v10.QueryService/GetReputerSubmissionWindowStatus";
    pub const GET_REPUTER_STAKE_IN_TOPIC: &str =
        "/emissions.v10.QueryService/GetReputerStakeInTopic";
    pub const GET_STAKE_FROM_REPUTER_IN_TOPIC_IN_SELF: &str =
        "/emissions.v10.QueryService/GetStakeFromReputerInTopicInSelf";
    pub const GET_STAKE_REPUTER_AUTHORITY: &str =
        "/emissions.v10.QueryService/GetStakeReputerAuthority";
    pub const GET_NETWORK_INFERENCES_AT_BLOCK: &str =
        "/emissions.v10.QueryService/GetNetworkInferencesAtBlock";
    pub const GET_LATEST_NETWORK_INFERENCES: &str =
        "/emissions.v10.QueryService/GetLatestNetworkInferences";
}

/// cosmos-sdk auth queries.
pub mod auth {
    pub const ACCOUNT: &str = "/cosmos.auth.v1beta1.Query/Account";
    pub const ACCOUNT_INFO: &str = "/cosmos.auth.v1beta1.Query/AccountInfo";
}

/// cosmos-sdk bank queries.
pub mod bank {
    pub const BALANCE: &str = "/cosmos.bank.v1beta1.Query/Balance";
}

/// cosmos-sdk tx service.
pub mod tx {
    pub const SIMULATE: &str = "/cosmos.tx.v1beta1.Service/Simulate";
    pub const GET_TX: &str = "/cosmos.tx.v1beta1.Service/GetTx";
}

/// cosmos-sdk CometBFT service.
pub mod tendermint {
    pub const GET_NODE_INFO: &str = "/cosmos.base.tendermint.v1beta1.Service/GetNodeInfo";
    pub const GET_LATEST_BLOCK: &str = "/cosmos.base.tendermint.v1beta1.Service/GetLatestBlock";
}

/// cosmos-sdk x/feegrant queries.
pub mod feegrant {
    pub const ALLOWANCE: &str = "/cosmos.feegrant.v1beta1.Query/Allowance";
}

/// Skip feemarket queries.
pub mod feemarket {
    pub const GAS_PRICE: &str = "/feemarket.feemarket.v1.Query/GasPrice";
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    /// Every emissions path names a method the compiled descriptor really has.
    #[test]
    fn paths_exist_in_the_descriptor() {
        let fds = prost_types::FileDescriptorSet::decode(crate::proto::FILE_DESCRIPTOR_SET)
            .expect("descriptor");
        let mut known = Vec::new();
        for f in &fds.file {
            for s in &f.service {
                for m in &s.method {
                    known.push(format!("/{}.{}/{}", f.package(), s.name(), m.name()));
                }
            }
        }
        for p in [
            super::emissions::GET_PARAMS,
            super::emissions::GET_OPEN_WORKER_SUBMISSION_WINDOWS,
            super::emissions::GET_LATEST_NETWORK_INFERENCES,
            super::feemarket::GAS_PRICE,
        ] {
            assert!(known.iter().any(|k| k == p), "{p} not in {known:?}");
        }
    }
}
