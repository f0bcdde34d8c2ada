//! `cosmos.bank.v1beta1.Query`: Balance in uallo. Other methods answer UNIMPLEMENTED.

use cosmos_sdk_proto::cosmos::bank::v1beta1 as bank;
use cosmos_sdk_proto::cosmos::base::v1beta1::Coin;
use tonic::{Request, Status};

use bank::query_server::Query as BankQuery;

use super::{R, Services, ok, unimplemented};
use crate::state::{DENOM, is_allo_address};

#[tonic::async_trait]
impl BankQuery for Services {
    async fn balance(
        &self,
        r: Request<bank::QueryBalanceRequest>,
    ) -> R<bank::QueryBalanceResponse> {
        self.guard().await?;
        let q = r.into_inner();
        if !is_allo_address(&q.address) {
            return Err(Status::invalid_argument(format!(
                "invalid address {:?}",
                q.address
            )));
        }
        if q.denom.is_empty() {
            return Err(Status::invalid_argument("invalid denom"));
        }
        let amount = if q.denom == DENOM {
            self.with_state(|s| s.balance(&q.address))
        } else {
            0
        };
        ok(bank::QueryBalanceResponse {
            balance: Some(Coin {
                denom: q.denom,
                amount: amount.to_string(),
            }),
        })
    }

    async fn all_balances(
        &self,
        _request: tonic::Request<bank::QueryAllBalancesRequest>,
    ) -> core::result::Result<tonic::Response<bank::QueryAllBalancesResponse>, tonic::Status> {
        Err(unimplemented("all_balances"))
    }
    async fn spendable_balances(
        &self,
        _request: tonic::Request<bank::QuerySpendableBalancesRequest>,
    ) -> core::result::Result<tonic::Response<bank::QuerySpendableBalancesResponse>, tonic::Status>
    {
        Err(unimplemented("spendable_balances"))
    }
    async fn spendable_balance_by_denom(
        &self,
        _request: tonic::Request<bank::QuerySpendableBalanceByDenomRequest>,
    ) -> core::result::Result<
        tonic::Response<bank::QuerySpendableBalanceByDenomResponse>,
        tonic::Status,
    > {
        Err(unimplemented("spendable_balance_by_denom"))
    }
    async fn total_supply(
        &self,
        _request: tonic::Request<bank::QueryTotalSupplyRequest>,
    ) -> core::result::Result<tonic::Response<bank::QueryTotalSupplyResponse>, tonic::Status> {
        Err(unimplemented("total_supply"))
    }
    async fn supply_of(
        &self,
        _request: tonic::Request<bank::QuerySupplyOfRequest>,
    ) -> core::result::Result<tonic::Response<bank::QuerySupplyOfResponse>, tonic::Status> {
        Err(unimplemented("supply_of"))
    }
    async fn params(
        &self,
        _request: tonic::Request<bank::QueryParamsRequest>,
    ) -> core::result::Result<tonic::Response<bank::QueryParamsResponse>, tonic::Status> {
        Err(unimplemented("params"))
    }
    async fn denom_metadata(
        &self,
        _request: tonic::Request<bank::QueryDenomMetadataRequest>,
    ) -> core::result::Result<tonic::Response<bank::QueryDenomMetadataResponse>, tonic::Status>
    {
        Err(unimplemented("denom_metadata"))
    }
    async fn denom_metadata_by_query_string(
        &self,
        _request: tonic::Request<bank::QueryDenomMetadataByQueryStringRequest>,
    ) -> core::result::Result<
        tonic::Response<bank::QueryDenomMetadataByQueryStringResponse>,
        tonic::Status,
    > {
        Err(unimplemented("denom_metadata_by_query_string"))
    }
    async fn denoms_metadata(
        &self,
        _request: tonic::Request<bank::QueryDenomsMetadataRequest>,
    ) -> core::result::Result<tonic::Response<bank::QueryDenomsMetadataResponse>, tonic::Status>
    {
        Err(unimplemented("denoms_metadata"))
    }
    async fn denom_owners(
        &self,
        _request: tonic::Request<bank::QueryDenomOwnersRequest>,
    ) -> core::result::Result<tonic::Response<bank::QueryDenomOwnersResponse>, tonic::Status> {
        Err(unimplemented("denom_owners"))
    }
    async fn denom_owners_by_query(
        &self,
        _request: tonic::Request<bank::QueryDenomOwnersByQueryRequest>,
    ) -> core::result::Result<tonic::Response<bank::QueryDenomOwnersByQueryResponse>, tonic::Status>
    {
        Err(unimplemented("denom_owners_by_query"))
    }
    async fn send_enabled(
        &self,
        _request: tonic::Request<bank::QuerySendEnabledRequest>,
    ) -> core::result::Result<tonic::Response<bank::QuerySendEnabledResponse>, tonic::Status> {
        Err(unimplemented("send_enabled"))
    }
}
