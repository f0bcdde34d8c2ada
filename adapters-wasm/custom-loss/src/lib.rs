//! `custom-loss`: a reputer loss function as an adapter — the pinball (quantile) loss
//! `max(q·(y − ŷ), (q − 1)·(y − ŷ))` with `Quantile` q in (0, 1) (default 0.5, which is
//! half the absolute error). Never negative, so the node submits log10 of each loss.

wit_bindgen::generate!({ path: "../../wit", world: "allora:adapter/loss-function" });

use adapter_util::params;
use allora::adapter::types::CallContext;

struct Pinball;

fn quantile(ctx: &CallContext) -> Result<f64, String> {
    let p = params(&ctx.params);
    let q = match p.get("Quantile") {
        None => 0.5,
        Some(s) => s.trim().parse::<f64>().map_err(|_| format!("Quantile={s:?} is not a number"))?,
    };
    if q > 0.0 && q < 1.0 {
        Ok(q)
    } else {
        Err(format!("Quantile must be in (0, 1), got {q}"))
    }
}

fn num(s: &str, what: &str) -> Result<f64, String> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("{what} {s:?} is not a number"))
}

impl exports::allora::adapter::loss::Guest for Pinball {
    fn loss(ctx: CallContext, ground_truth: String, predictions: Vec<String>) -> Result<Vec<String>, String> {
        let q = quantile(&ctx)?;
        let y = num(&ground_truth, "ground truth")?;
        predictions
            .iter()
            .map(|p| {
                let d = y - num(p, "prediction")?;
                Ok(format!("{}", (q * d).max((q - 1.0) * d)))
            })
            .collect()
    }

    fn never_negative(ctx: CallContext) -> Result<bool, String> {
        quantile(&ctx).map(|_| true)
    }
}

export!(Pinball);
