//! One table of the gRPC method paths the node calls and the devnet serves. The chain
//! client uses them for the CometBFT `abci_query` fallback (the path is the query route);
//! the devnet routes `abci_query` with the same constants, so the two cannot drift apart.
//! Generated tonic clients and servers carry the same strings for native gRPC.

/// The emissions query services of every version the node speaks. Both versions serve the
/// same methods under their own package (`/emissions.v9.QueryService/GetParams`,
/// `/emissions.v10.QueryService/GetParams`); [`emissions::Query`] names a method and
/// [`emissions::Query::path`] gives its path under a version (see `crate::emissions`).
pub mod emissions {
    macro_rules! table {
        (
            shared { $($konst:ident => $method:ident,)* }
            v10_only { $($konst10:ident => $method10:ident,)* }
        ) => {
            /// A query the node makes, independent of the emissions version (served by every
            /// version; queries only v10 has are constants in [`v10`] alone, see [`V10_ONLY`]).
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
            pub enum Query {
                $($method,)*
            }

            impl Query {
                /// Every query, in table order.
                pub const ALL: &'static [Query] = &[$(Query::$method,)*];

                /// The gRPC method name (`GetParams`).
                pub const fn name(self) -> &'static str {
                    match self {
                        $(Query::$method => stringify!($method),)*
                    }
                }

                /// The full gRPC path under `version`.
                pub const fn path(self, version: crate::emissions::EmissionsVersion) -> &'static str {
                    match version {
                        crate::emissions::EmissionsVersion::V9 => match self {
                            $(Query::$method => v9::$konst,)*
                        },
                        crate::emissions::EmissionsVersion::V10 => match self {
                            $(Query::$method => v10::$konst,)*
                        },
                    }
                }
            }

            /// `emissions.v9.QueryService` (allora-chain v0.16.0).
            pub mod v9 {
                $(pub const $konst: &str = concat!("/emissions.v9.QueryService/", stringify!($method));)*
            }

            /// `emissions.v10.QueryService` (allora-chain v0.17.0), including the queries v9
            /// does not have (wall-clock epochs).
            pub mod v10 {
                $(pub const $konst: &str = concat!("/emissions.v10.QueryService/", stringify!($method));)*
                $(pub const $konst10: &str = concat!("/emissions.v10.QueryService/", stringify!($method10));)*
            }

            /// The v10 paths with no v9 counterpart. The chain client answers them as not
            /// served ("Unimplemented") on a v9 chain without asking; the devnet does not
            /// route them under v9.
            pub const V10_ONLY: &[&str] = &[$(v10::$konst10,)*];
        };
    }

    table! {
        shared {
        GET_PARAMS => GetParams,
        GET_TOPIC => GetTopic,
        TOPIC_EXISTS => TopicExists,
        IS_TOPIC_ACTIVE => IsTopicActive,
        GET_NEXT_CHURNING_BLOCK_BY_TOPIC_ID => GetNextChurningBlockByTopicId,
        IS_WORKER_REGISTERED_IN_TOPIC_ID => IsWorkerRegisteredInTopicId,
        IS_REPUTER_REGISTERED_IN_TOPIC_ID => IsReputerRegisteredInTopicId,
        CAN_SUBMIT_WORKER_PAYLOAD => CanSubmitWorkerPayload,
        CAN_SUBMIT_REPUTER_PAYLOAD => CanSubmitReputerPayload,
        GET_UNFULFILLED_WORKER_NONCES => GetUnfulfilledWorkerNonces,
        GET_UNFULFILLED_REPUTER_NONCES => GetUnfulfilledReputerNonces,
        IS_WORKER_NONCE_UNFULFILLED => IsWorkerNonceUnfulfilled,
        IS_REPUTER_NONCE_UNFULFILLED => IsReputerNonceUnfulfilled,
        GET_OPEN_WORKER_SUBMISSION_WINDOWS => GetOpenWorkerSubmissionWindows,
        GET_OPEN_REPUTER_SUBMISSION_WINDOWS => GetOpenReputerSubmissionWindows,
        GET_WORKER_SUBMISSION_WINDOW_STATUS => GetWorkerSubmissionWindowStatus,
        GET_REPUTER_SUBMISSION_WINDOW_STATUS => GetReputerSubmissionWindowStatus,
        GET_REPUTER_STAKE_IN_TOPIC => GetReputerStakeInTopic,
        GET_STAKE_FROM_REPUTER_IN_TOPIC_IN_SELF => GetStakeFromReputerInTopicInSelf,
        GET_STAKE_REPUTER_AUTHORITY => GetStakeReputerAuthority,
        GET_NETWORK_INFERENCES_AT_BLOCK => GetNetworkInferencesAtBlock,
        GET_LATEST_NETWORK_INFERENCES => GetLatestNetworkInferences,
        }
        v10_only {
        GET_EPOCH => GetEpoch,
        GET_TOPIC_EPOCHS => GetTopicEpochs,
        }
    }
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
        let emissions = super::emissions::Query::ALL.iter().flat_map(|q| {
            crate::emissions::EmissionsVersion::SUPPORTED
                .iter()
                .map(move |v| q.path(*v))
        });
        let v10_only = super::emissions::V10_ONLY.iter().copied();
        for p in emissions
            .chain(v10_only)
            .chain([super::feemarket::GAS_PRICE])
        {
            assert!(known.iter().any(|k| k == p), "{p} not in {known:?}");
        }
    }
}
