//! Native reputer loss methods (protocol reference §G.1) and the "never negative → log10"
//! rule (§G.2).
//!
//! Most reputers score predictions with a standard loss; having these natively means no loss
//! adapter (and no wasm call) is needed for the common case. The formulas, defaults and
//! aliases follow the Python SDK's `loss_methods` registry so a reputer scores exactly like
//! the reference implementation.
//!
//! The submitted value is decided by [`to_submitted`]: the chain defines the submitted
//! quantity as `log10(L)`, so a loss that can never be negative is submitted as its base-10
//! logarithm (a zero loss has no finite logarithm and is an error — the Go node aborts the
//! bundle in that case too), while a loss that can be negative (`poisson`) is submitted raw.

use std::collections::BTreeMap;

use thiserror::Error;

/// Why a loss could not be computed or submitted.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum LossError {
    /// The configured name is not a known method or alias.
    #[error(
        "unknown loss method {0:?}; use one of sqe, abse, huber, logcosh, bce, poisson, ztae, zptae (or an alias such as mse, mae)"
    )]
    UnknownMethod(String),
    /// A method option is malformed or out of range.
    #[error("invalid option {name:?} for loss method {method}: {reason}")]
    InvalidOption {
        method: &'static str,
        name: String,
        reason: String,
    },
    /// An input is outside the method's domain (e.g. `bce` needs values in [0, 1]).
    #[error("loss method {method}: {reason}")]
    Domain {
        method: &'static str,
        reason: String,
    },
    /// An input or the result is NaN or infinite.
    #[error("loss is not a finite number ({0})")]
    NonFinite(f64),
    /// A never-negative loss of exactly zero has no finite log10.
    #[error("loss is zero, and log10(0) is not a finite number; nothing can be submitted")]
    ZeroLoss,
    /// A loss declared never-negative came out negative.
    #[error("loss {0} is negative but the loss function declares itself never negative")]
    NegativeLoss(f64),
}

/// A native loss method with its parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LossMethod {
    /// Squared error `(y − ŷ)²`.
    Sqe,
    /// Absolute error `|y − ŷ|`.
    Abse,
    /// Huber loss with threshold `delta` (> 0, default 1.0).
    Huber { delta: f64 },
    /// `ln(cosh(ŷ − y))`, with the asymptote `|ŷ − y| − ln 2` where `cosh` overflows.
    Logcosh,
    /// Binary cross-entropy; `y`, `ŷ` ∈ [0, 1], `ŷ` clipped to [ε, 1−ε] with ε = 1e-15.
    Bce,
    /// Poisson loss `p − y·ln p` with `p = max(ŷ, 1e-7)`; `y`, `ŷ` ≥ 0. Can be negative.
    Poisson,
    /// Z-transformed absolute error `|tanh((y−μ)/σ) − tanh((ŷ−μ)/σ)|`.
    Ztae { std: f64, mean: f64 },
    /// Z-power-tanh absolute error (see the protocol reference §G.1 for the formula).
    Zptae {
        std: f64,
        mean: f64,
        alpha: f64,
        beta: f64,
        mse_norm: f64,
        gamma: f64,
    },
}

const BCE_EPS: f64 = 1e-15;
const POISSON_EPS: f64 = 1e-7;

impl LossMethod {
    /// Parses a method name (canonical or alias, case-insensitive, trimmed) with default
    /// parameters.
    pub fn parse(name: &str) -> Result<LossMethod, LossError> {
        let n = name.trim().to_ascii_lowercase();
        Ok(match n.as_str() {
            "sqe" | "mse" | "squared_error" | "se" => LossMethod::Sqe,
            "abse" | "mae" | "absolute_error" | "ae" => LossMethod::Abse,
            "huber" | "huber_loss" => LossMethod::Huber { delta: 1.0 },
            "logcosh" | "log_cosh" | "logcosh_loss" => LossMethod::Logcosh,
            "bce" | "binary_cross_entropy" | "bce_loss" => LossMethod::Bce,
            "poisson" | "poisson_loss" => LossMethod::Poisson,
            "ztae" | "ztae_loss" | "z_transformed_absolute_error" => LossMethod::Ztae {
                std: 1.0,
                mean: 0.0,
            },
            "zptae" | "zptae_loss" | "z_power_tanh_absolute_error" => LossMethod::Zptae {
                std: 1.0,
                mean: 0.0,
                alpha: 0.25,
                beta: 2.0,
                mse_norm: 0.01,
                gamma: 4.0,
            },
            _ => return Err(LossError::UnknownMethod(name.to_string())),
        })
    }

    /// Parses a method and applies options (`delta` for huber; `std`, `mean` for ztae and
    /// zptae; `alpha`, `beta`, `mse_norm`, `gamma` for zptae). Unknown options are errors so
    /// a typo never silently falls back to a default.
    pub fn with_options(
        name: &str,
        options: &BTreeMap<String, f64>,
    ) -> Result<LossMethod, LossError> {
        let mut m = LossMethod::parse(name)?;
        let method = m.name();
        for (key, &v) in options {
            let bad = |reason: &str| LossError::InvalidOption {
                method,
                name: key.clone(),
                reason: reason.to_string(),
            };
            if !v.is_finite() {
                return Err(bad("must be a finite number"));
            }
            let positive = |v: f64| {
                if v > 0.0 {
                    Ok(v)
                } else {
                    Err(bad("must be > 0"))
                }
            };
            match (&mut m, key.as_str()) {
                (LossMethod::Huber { delta }, "delta") => *delta = positive(v)?,
                (LossMethod::Ztae { std, .. } | LossMethod::Zptae { std, .. }, "std") => {
                    *std = positive(v)?
                }
                (LossMethod::Ztae { mean, .. } | LossMethod::Zptae { mean, .. }, "mean") => {
                    *mean = v
                }
                (LossMethod::Zptae { alpha, .. }, "alpha") => *alpha = v,
                (LossMethod::Zptae { beta, .. }, "beta") => *beta = positive(v)?,
                (LossMethod::Zptae { mse_norm, .. }, "mse_norm") => *mse_norm = v,
                (LossMethod::Zptae { gamma, .. }, "gamma") => *gamma = positive(v)?,
                _ => return Err(bad("not an option of this method")),
            }
        }
        Ok(m)
    }

    /// The canonical name.
    pub fn name(&self) -> &'static str {
        match self {
            LossMethod::Sqe => "sqe",
            LossMethod::Abse => "abse",
            LossMethod::Huber { .. } => "huber",
            LossMethod::Logcosh => "logcosh",
            LossMethod::Bce => "bce",
            LossMethod::Poisson => "poisson",
            LossMethod::Ztae { .. } => "ztae",
            LossMethod::Zptae { .. } => "zptae",
        }
    }

    /// Whether the method can never produce a negative loss (then [`to_submitted`] applies
    /// log10). Only `poisson` can be negative.
    pub fn never_negative(&self) -> bool {
        !matches!(self, LossMethod::Poisson)
    }

    /// The raw loss of prediction `yhat` against ground truth `y`.
    pub fn compute(&self, y: f64, yhat: f64) -> Result<f64, LossError> {
        for v in [y, yhat] {
            if !v.is_finite() {
                return Err(LossError::NonFinite(v));
            }
        }
        let method = self.name();
        let domain = |reason: String| LossError::Domain { method, reason };
        let loss = match *self {
            LossMethod::Sqe => (y - yhat).powi(2),
            LossMethod::Abse => (y - yhat).abs(),
            LossMethod::Huber { delta } => {
                let e = (y - yhat).abs();
                if e <= delta {
                    0.5 * e * e
                } else {
                    delta * (e - 0.5 * delta)
                }
            }
            LossMethod::Logcosh => {
                let d = yhat - y;
                let c = d.cosh();
                if c.is_finite() {
                    c.ln()
                } else {
                    d.abs() - std::f64::consts::LN_2
                }
            }
            LossMethod::Bce => {
                if !(0.0..=1.0).contains(&y) || !(0.0..=1.0).contains(&yhat) {
                    return Err(domain(format!(
                        "values must be in [0, 1], got y={y}, y_pred={yhat}"
                    )));
                }
                let p = yhat.clamp(BCE_EPS, 1.0 - BCE_EPS);
                (-(y * p.ln() + (1.0 - y) * (1.0 - p).ln())).max(0.0)
            }
            LossMethod::Poisson => {
                if y < 0.0 || yhat < 0.0 {
                    return Err(domain(format!(
                        "values must be >= 0, got y={y}, y_pred={yhat}"
                    )));
                }
                let p = yhat.max(POISSON_EPS);
                p - y * p.ln()
            }
            LossMethod::Ztae { std, mean } => {
                (((y - mean) / std).tanh() - ((yhat - mean) / std).tanh()).abs()
            }
            LossMethod::Zptae {
                std,
                mean,
                alpha,
                beta,
                mse_norm,
                gamma,
            } => {
                let zy = (y - mean) / std;
                let zp = (yhat - mean) / std;
                let pt = |x: f64| {
                    let p = x.abs().powf(beta);
                    if p.is_finite() {
                        x / (1.0 + p).powf((1.0 - alpha) / beta)
                    } else {
                        // Asymptote of x / |x|^(1−α) when |x|^β overflows.
                        x.signum() * x.abs().powf(alpha)
                    }
                };
                (pt(zy) - pt(zp)).abs() + (mse_norm * (zp - zy).abs()).powf(gamma)
            }
        };
        if loss.is_finite() {
            Ok(loss)
        } else {
            Err(LossError::NonFinite(loss))
        }
    }
}

/// The value a reputer submits for a raw loss.
///
/// If the loss function is never negative, the chain expects `log10(loss)`; a zero loss then
/// has no finite logarithm and is an error (the Go node aborts the bundle the same way) and a
/// negative loss breaks the function's own promise. Otherwise the raw loss is submitted.
pub fn to_submitted(raw: f64, never_negative: bool) -> Result<f64, LossError> {
    if !raw.is_finite() {
        return Err(LossError::NonFinite(raw));
    }
    if !never_negative {
        return Ok(raw);
    }
    if raw < 0.0 {
        return Err(LossError::NegativeLoss(raw));
    }
    if raw == 0.0 {
        return Err(LossError::ZeroLoss);
    }
    Ok(raw.log10())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0), "{a} != {b}");
    }

    fn loss(name: &str, y: f64, yhat: f64) -> f64 {
        LossMethod::parse(name).unwrap().compute(y, yhat).unwrap()
    }

    #[test]
    fn aliases_map_to_canonical_names() {
        for (alias, canonical) in [
            ("MSE", "sqe"),
            (" squared_error ", "sqe"),
            ("se", "sqe"),
            ("mae", "abse"),
            ("absolute_error", "abse"),
            ("ae", "abse"),
            ("huber_loss", "huber"),
            ("log_cosh", "logcosh"),
            ("logcosh_loss", "logcosh"),
            ("binary_cross_entropy", "bce"),
            ("bce_loss", "bce"),
            ("poisson_loss", "poisson"),
            ("z_transformed_absolute_error", "ztae"),
            ("ztae_loss", "ztae"),
            ("z_power_tanh_absolute_error", "zptae"),
            ("zptae_loss", "zptae"),
        ] {
            assert_eq!(
                LossMethod::parse(alias).unwrap().name(),
                canonical,
                "{alias}"
            );
        }
        assert!(matches!(
            LossMethod::parse("rmse"),
            Err(LossError::UnknownMethod(_))
        ));
    }

    #[test]
    fn hand_computed_values() {
        close(loss("sqe", 3.0, 1.0), 4.0);
        close(loss("abse", 3.0, 1.0), 2.0);
        close(loss("abse", 1.0, 3.0), 2.0);
        // Huber, delta 1: quadratic inside, linear outside.
        close(loss("huber", 0.0, 0.5), 0.125);
        close(loss("huber", 0.0, 3.0), 2.5);
        close(loss("logcosh", 0.0, 1.0), 0.433_780_830_483_027_1);
        // cosh(1000) overflows: asymptote 1000 − ln 2.
        close(loss("logcosh", 0.0, 1000.0), 999.306_852_819_440_1);
        close(loss("bce", 1.0, 0.5), std::f64::consts::LN_2);
        close(loss("bce", 0.0, 0.25), 0.287_682_072_451_780_9);
        // ŷ = 1 is clipped to 1 − 1e-15: finite, not infinite.
        assert!(loss("bce", 0.0, 1.0).is_finite());
        close(loss("poisson", 2.0, 1.0), 1.0);
        close(loss("poisson", 3.0, 2.0), -0.079_441_541_679_835_75);
        close(loss("ztae", 0.0, 1.0), 0.761_594_155_955_764_9);
        close(loss("zptae", 0.0, 1.0), 0.771_105_422_703_970_4);
        close(loss("zptae", 1.0, -0.5), 1.230_968_761_155_740_7);
    }

    #[test]
    fn options_change_parameters_and_typos_are_errors() {
        let opts = BTreeMap::from([("std".to_string(), 2.0), ("mean".to_string(), 1.0)]);
        let m = LossMethod::with_options("ztae", &opts).unwrap();
        // |tanh((4−1)/2) − tanh((2−1)/2)|
        close(m.compute(4.0, 2.0).unwrap(), 0.443_031_096_384_856_66);
        let huber = LossMethod::with_options("huber", &BTreeMap::from([("delta".into(), 2.0)]));
        close(huber.unwrap().compute(0.0, 3.0).unwrap(), 4.0);
        let typo = LossMethod::with_options("huber", &BTreeMap::from([("detla".into(), 2.0)]));
        assert!(matches!(typo, Err(LossError::InvalidOption { .. })));
        let zero = LossMethod::with_options("ztae", &BTreeMap::from([("std".into(), 0.0)]));
        assert!(matches!(zero, Err(LossError::InvalidOption { .. })));
    }

    #[test]
    fn domains_are_enforced() {
        let bce = LossMethod::parse("bce").unwrap();
        assert!(matches!(
            bce.compute(1.5, 0.5),
            Err(LossError::Domain { .. })
        ));
        let poisson = LossMethod::parse("poisson").unwrap();
        assert!(matches!(
            poisson.compute(1.0, -1.0),
            Err(LossError::Domain { .. })
        ));
        let sqe = LossMethod::parse("sqe").unwrap();
        assert!(matches!(
            sqe.compute(f64::NAN, 1.0),
            Err(LossError::NonFinite(_))
        ));
        assert!(matches!(
            sqe.compute(1e300, -1e300),
            Err(LossError::NonFinite(_))
        ));
    }

    #[test]
    fn log10_rule() {
        assert!(LossMethod::parse("sqe").unwrap().never_negative());
        assert!(!LossMethod::parse("poisson").unwrap().never_negative());
        close(to_submitted(4.0, true).unwrap(), 0.602_059_991_327_962_4);
        close(to_submitted(0.5, true).unwrap(), -std::f64::consts::LOG10_2);
        assert_eq!(to_submitted(0.0, true), Err(LossError::ZeroLoss));
        assert_eq!(to_submitted(-0.5, true), Err(LossError::NegativeLoss(-0.5)));
        // A loss that may be negative is submitted raw.
        assert_eq!(to_submitted(-0.5, false), Ok(-0.5));
        assert_eq!(to_submitted(0.0, false), Ok(0.0));
        assert!(matches!(
            to_submitted(f64::INFINITY, false),
            Err(LossError::NonFinite(_))
        ));
    }
}
