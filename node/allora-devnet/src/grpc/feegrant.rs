//! `cosmos.feegrant.v1beta1.Query/Allowance`: the granter → grantee `BasicAllowance`, or
//! NotFound as the SDK answers when there is none. Other methods answer UNIMPLEMENTED.

use cosmos_sdk_proto::Any;
use cosmos_sdk_proto::cosmos::base::v1beta1::Coin;
use cosmos_sdk_proto::cosmos::feegrant::v1beta1 as fg;
use prost::Message;
use tonic::{Request, Status};

use fg::query_server::Query as FeegrantQuery;

use super::{R, Services, ok, unimplemented};
use crate::state::{DENOM, is_allo_address};

#[tonic::async_trait]
impl FeegrantQuery for Services {
    async fn allowance(
        &self,
        r: Request<fg::QueryAllowanceRequest>,
    ) -> R<fg::QueryAllowanceResponse> {
        self.guard().await?;
        let q = r.into_inner();
        for addr in [&q.granter, &q.grantee] {
            if !is_allo_address(addr) {
                return Err(Status::invalid_argument(format!(
                    "invalid address {addr:?}"
                )));
            }
        }
        let key = (q.granter.clone(), q.grantee.clone());
        let Some(a) = self.with_state(|s| s.fee_grants.get(&key).cloned()) else {
            return Err(Status::not_found(format!(
                "fee-grant not found for granter {} and grantee {}: not found",
                q.granter, q.grantee
            )));
        };
        let basic = fg::BasicAllowance {
            spend_limit: a
                .spend_limit
                .map(|l| {
                    vec![Coin {
                        denom: DENOM.to_string(),
                        amount: l.to_string(),
                    }]
                })
                .unwrap_or_default(),
            expiration: a.expiration_nanos.map(|n| cosmos_sdk_proto::Timestamp {
                seconds: i64::try_from(n.div_euclid(1_000_000_000)).unwrap_or(i64::MAX),
                nanos: i32::try_from(n.rem_euclid(1_000_000_000)).unwrap_or(0),
            }),
        };
        ok(fg::QueryAllowanceResponse {
            allowance: Some(fg::Grant {
                granter: q.granter,
                grantee: q.grantee,
                allowance: Some(Any {
                    type_url: crate::feegrant::BASIC_ALLOWANCE.to_string(),
                    value: basic.encode_to_vec(),
                }),
            }),
        })
    }

    async fn allowances(
        &self,
        _r: Request<fg::QueryAllowancesRequest>,
    ) -> R<fg::QueryAllowancesResponse> {
        Err(unimplemented("allowances"))
    }

    async fn allowances_by_granter(
        &self,
        _r: Request<fg::QueryAllowancesByGranterRequest>,
    ) -> R<fg::QueryAllowancesByGranterResponse> {
        Err(unimplemented("allowances_by_granter"))
    }
}
