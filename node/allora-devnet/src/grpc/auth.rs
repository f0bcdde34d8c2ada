//! `cosmos.auth.v1beta1.Query`: Account and AccountInfo (number, sequence, pubkey) — what a
//! node reads before signing a tx. Other methods answer UNIMPLEMENTED.

use cosmos_sdk_proto::cosmos::auth::v1beta1 as auth;
use cosmos_sdk_proto::cosmos::crypto::secp256k1::PubKey;
use prost::Message;
use tonic::{Request, Status};

use auth::query_server::Query as AuthQuery;

use super::{R, Services, ok, unimplemented};
use crate::state::{State, is_allo_address};

fn base_account(s: &State, addr: &str) -> Result<auth::BaseAccount, Status> {
    if !is_allo_address(addr) {
        return Err(Status::invalid_argument(format!(
            "invalid address {addr:?}"
        )));
    }
    let a = s
        .accounts
        .get(addr)
        .ok_or_else(|| Status::not_found(format!("account {addr} not found")))?;
    Ok(auth::BaseAccount {
        address: a.address.clone(),
        pub_key: a.pubkey.as_ref().map(|k| cosmos_sdk_proto::Any {
            type_url: "/cosmos.crypto.secp256k1.PubKey".to_string(),
            value: PubKey { key: k.clone() }.encode_to_vec(),
        }),
        account_number: a.account_number,
        sequence: a.sequence,
    })
}

#[tonic::async_trait]
impl AuthQuery for Services {
    async fn account(
        &self,
        r: Request<auth::QueryAccountRequest>,
    ) -> R<auth::QueryAccountResponse> {
        self.guard().await?;
        let addr = r.into_inner().address;
        let acc = self.with_state(|s| base_account(s, &addr))?;
        ok(auth::QueryAccountResponse {
            account: Some(cosmos_sdk_proto::Any {
                type_url: "/cosmos.auth.v1beta1.BaseAccount".to_string(),
                value: acc.encode_to_vec(),
            }),
        })
    }

    async fn account_info(
        &self,
        r: Request<auth::QueryAccountInfoRequest>,
    ) -> R<auth::QueryAccountInfoResponse> {
        self.guard().await?;
        let addr = r.into_inner().address;
        let acc = self.with_state(|s| base_account(s, &addr))?;
        ok(auth::QueryAccountInfoResponse { info: Some(acc) })
    }

    async fn accounts(
        &self,
        _request: tonic::Request<auth::QueryAccountsRequest>,
    ) -> core::result::Result<tonic::Response<auth::QueryAccountsResponse>, tonic::Status> {
        Err(unimplemented("accounts"))
    }
    async fn account_address_by_id(
        &self,
        _request: tonic::Request<auth::QueryAccountAddressByIdRequest>,
    ) -> core::result::Result<tonic::Response<auth::QueryAccountAddressByIdResponse>, tonic::Status>
    {
        Err(unimplemented("account_address_by_id"))
    }
    async fn params(
        &self,
        _request: tonic::Request<auth::QueryParamsRequest>,
    ) -> core::result::Result<tonic::Response<auth::QueryParamsResponse>, tonic::Status> {
        Err(unimplemented("params"))
    }
    async fn module_accounts(
        &self,
        _request: tonic::Request<auth::QueryModuleAccountsRequest>,
    ) -> core::result::Result<tonic::Response<auth::QueryModuleAccountsResponse>, tonic::Status>
    {
        Err(unimplemented("module_accounts"))
    }
    async fn module_account_by_name(
        &self,
        _request: tonic::Request<auth::QueryModuleAccountByNameRequest>,
    ) -> core::result::Result<tonic::Response<auth::QueryModuleAccountByNameResponse>, tonic::Status>
    {
        Err(unimplemented("module_account_by_name"))
    }
    async fn bech32_prefix(
        &self,
        _request: tonic::Request<auth::Bech32PrefixRequest>,
    ) -> core::result::Result<tonic::Response<auth::Bech32PrefixResponse>, tonic::Status> {
        Err(unimplemented("bech32_prefix"))
    }
    async fn address_bytes_to_string(
        &self,
        _request: tonic::Request<auth::AddressBytesToStringRequest>,
    ) -> core::result::Result<tonic::Response<auth::AddressBytesToStringResponse>, tonic::Status>
    {
        Err(unimplemented("address_bytes_to_string"))
    }
    async fn address_string_to_bytes(
        &self,
        _request: tonic::Request<auth::AddressStringToBytesRequest>,
    ) -> core::result::Result<tonic::Response<auth::AddressStringToBytesResponse>, tonic::Status>
    {
        Err(unimplemented("address_string_to_bytes"))
    }
}
