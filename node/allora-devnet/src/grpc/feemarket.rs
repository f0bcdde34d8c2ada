//! `feemarket.feemarket.v1.Query/GasPrice`: the devnet's minimum gas price as a LegacyDec
//! (scaled by 10^18), the way the feemarket module answers.

use cosmos_sdk_proto::cosmos::base::v1beta1::DecCoin;
use tonic::{Request, Status};

use allora_protocol::proto::feemarket::v1 as feemarket;

use super::{R, Services, ok};
use crate::state::DENOM;

#[tonic::async_trait]
impl feemarket::query_server::Query for Services {
    async fn gas_price(
        &self,
        r: Request<feemarket::GasPriceRequest>,
    ) -> R<feemarket::GasPriceResponse> {
        self.guard().await?;
        let denom = r.into_inner().denom;
        if denom != DENOM {
            return Err(Status::not_found(format!(
                "unknown denom {denom:?}; the devnet fee denom is {DENOM}"
            )));
        }
        let price = self.with_state(|s| s.min_gas_price);
        ok(feemarket::GasPriceResponse {
            price: Some(DecCoin {
                denom,
                amount: price.to_string(),
            }),
        })
    }
}
