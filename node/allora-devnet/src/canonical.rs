//! The chain's decimals, as the devnet's own code: how allora-chain parses a `Dec` string
//! (apd `SetString` in the 34-digit decimal128 context, rounding down) and how it renders
//! one again (apd `Text('G')`) when it re-marshals a bundle to verify its signature.
//!
//! Written from the protocol reference (§A.2, §C.1 rule 4, §C.3) — deliberately not the
//! node's `decimal` module: the devnet exists to check the node, so the two sides must not
//! share one implementation of the rule they are checked against. The unit tests pin the
//! reference's examples; the node is tested against the same examples separately.
//!
//! Network values the devnet computes itself (`crate::network`) are rendered the way the
//! reference SDK renders a float (`str(float)`, then canonical), see [`from_f64`].

use std::fmt;

/// Significant digits the chain keeps (`dec128Context`, RoundDown): extra digits are cut.
const PRECISION: usize = 34;

/// apd's exponent limits (`MaxExponent` / `MinExponent`), applied to the adjusted exponent.
const EXPONENT_LIMIT: i64 = 100_000;

/// Why the chain would refuse a decimal string (it then rejects the message, sdk code 18).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DecError {
    #[error("empty decimal string")]
    Empty,
    #[error("{0:?} is not finite (NaN and Infinity are rejected)")]
    NotFinite(String),
    #[error("{0:?} is not a decimal number")]
    Malformed(String),
    #[error("{0:?} has an exponent outside ±{EXPONENT_LIMIT}")]
    ExponentOutOfRange(String),
}

/// A finite decimal the way apd holds it: `(-1)^negative × coefficient × 10^exponent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Dec {
    negative: bool,
    /// ASCII digits without leading zeros (`"0"` for zero), at most [`PRECISION`] long.
    coefficient: String,
    exponent: i64,
}

impl Dec {
    /// apd `SetString`: optional sign, digits with at most one `.`, optional `e`/`E`
    /// exponent with optional sign. No whitespace, no `_`, no hex, no special values.
    pub(crate) fn parse(text: &str) -> Result<Dec, DecError> {
        if text.is_empty() {
            return Err(DecError::Empty);
        }
        let malformed = || DecError::Malformed(text.to_owned());
        let (negative, unsigned) = if let Some(rest) = text.strip_prefix('-') {
            (true, rest)
        } else {
            (false, text.strip_prefix('+').unwrap_or(text))
        };
        let lower = unsigned.to_ascii_lowercase();
        if lower == "inf"
            || lower == "infinity"
            || lower.starts_with("nan")
            || lower.starts_with("snan")
        {
            return Err(DecError::NotFinite(text.to_owned()));
        }
        let (mantissa, exponent_text) = match unsigned.split_once(['e', 'E']) {
            Some((m, e)) => (m, Some(e)),
            None => (unsigned, None),
        };
        let mut exponent: i64 = 0;
        if let Some(e) = exponent_text {
            let magnitude = e.strip_prefix(['+', '-']).unwrap_or(e);
            if magnitude.is_empty() || !magnitude.bytes().all(|b| b.is_ascii_digit()) {
                return Err(malformed());
            }
            // All digits, so the only way this fails is overflow: far outside apd's range.
            exponent = e
                .parse()
                .map_err(|_| DecError::ExponentOutOfRange(text.to_owned()))?;
        }
        let mut digits = String::with_capacity(mantissa.len());
        let mut seen_point = false;
        for c in mantissa.chars() {
            match c {
                '0'..='9' => {
                    digits.push(c);
                    if seen_point {
                        exponent = exponent
                            .checked_sub(1)
                            .ok_or_else(|| DecError::ExponentOutOfRange(text.to_owned()))?;
                    }
                }
                '.' if !seen_point => seen_point = true,
                _ => return Err(malformed()),
            }
        }
        if digits.is_empty() {
            return Err(malformed());
        }
        let significant = digits.trim_start_matches('0');
        let mut coefficient = if significant.is_empty() {
            "0".to_owned()
        } else {
            significant.to_owned()
        };
        if coefficient.len() > PRECISION {
            // RoundDown: drop the tail and scale the exponent up by what was dropped.
            let dropped = coefficient.len() - PRECISION;
            coefficient.truncate(PRECISION);
            exponent += dropped as i64;
        }
        let dec = Dec {
            negative,
            coefficient,
            exponent,
        };
        if dec.adjusted().abs() > EXPONENT_LIMIT {
            return Err(DecError::ExponentOutOfRange(text.to_owned()));
        }
        Ok(dec)
    }

    /// The exponent of the most significant digit (apd's "adjusted exponent").
    fn adjusted(&self) -> i64 {
        self.exponent + self.coefficient.len() as i64 - 1
    }

    /// The value as the nearest `f64` (Rust's float parsing rounds correctly), if finite.
    pub(crate) fn to_f64(&self) -> Option<f64> {
        let sign = if self.negative { "-" } else { "" };
        let v: f64 = format!("{sign}{}e{}", self.coefficient, self.exponent)
            .parse()
            .ok()?;
        v.is_finite().then_some(v)
    }
}

/// apd `Text('G')`: plain when the exponent is ≤ 0 and the adjusted exponent ≥ −6 (keeping
/// every coefficient digit, so trailing zeros survive); otherwise one digit, an optional
/// fraction, `E`, an explicit sign and the adjusted exponent.
impl fmt::Display for Dec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.negative {
            f.write_str("-")?;
        }
        let digits = self.coefficient.as_str();
        let adjusted = self.adjusted();
        if self.exponent <= 0 && adjusted >= -6 {
            // Digits left of the point; ≤ 0 means the value is below 1 and needs zeros.
            let int_len = digits.len() as i64 + self.exponent;
            if self.exponent == 0 {
                f.write_str(digits)
            } else if int_len > 0 {
                let (int, frac) = digits.split_at(int_len as usize);
                write!(f, "{int}.{frac}")
            } else {
                let zeros = "0".repeat((-int_len) as usize);
                write!(f, "0.{zeros}{digits}")
            }
        } else {
            let (first, rest) = digits.split_at(1);
            f.write_str(first)?;
            if !rest.is_empty() {
                write!(f, ".{rest}")?;
            }
            let sign = if adjusted >= 0 { "+" } else { "-" };
            write!(f, "E{sign}{}", adjusted.abs())
        }
    }
}

/// The spelling the chain re-marshals a decimal with (apd `Text('G')` of the parsed value).
pub(crate) fn canonical(text: &str) -> Result<String, DecError> {
    Dec::parse(text).map(|d| d.to_string())
}

/// How the chain re-marshals a `Dec` *field* it decoded: an empty string leaves the zero
/// value, which gogoproto still emits (non-nullable customtype) as `"0"` (reference §C.1).
pub(crate) fn remarshal_field(text: &str) -> Result<String, DecError> {
    if text.is_empty() {
        Ok("0".to_owned())
    } else {
        canonical(text)
    }
}

/// Parses a chain decimal (plain or exponent form) as a finite `f64`.
pub(crate) fn parse_f64(text: &str) -> Option<f64> {
    Dec::parse(text).ok()?.to_f64()
}

/// Renders a float the way the reference SDK does before signing (reference §C.3: Python's
/// `str(float)`, then canonical): the shortest round-trip digits; Python writes them plainly,
/// with at least one fractional digit, when the decimal exponent is in `-4..16`, and in
/// exponent form otherwise. Built directly as a [`Dec`], so no string is parsed back.
pub(crate) fn from_f64(v: f64) -> Option<String> {
    if !v.is_finite() {
        return None;
    }
    // `{:e}` prints the shortest round-trip digits: "-1.2345e-7", "1e16", "-0e0".
    let sci = format!("{v:e}");
    let (mantissa, exp) = sci.split_once('e')?;
    let point_exp: i64 = exp.parse().ok()?;
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    // Value = digits × 10^(point_exp − (len − 1)).
    let mut exponent = point_exp - (digits.len() as i64 - 1);
    let mut coefficient = digits;
    if (-4..16).contains(&point_exp) && exponent >= 0 {
        // A whole number printed plainly: Python spells out the zeros and appends ".0".
        coefficient.push_str(&"0".repeat(exponent as usize + 1));
        exponent = -1;
    }
    let coefficient = match coefficient.trim_start_matches('0') {
        "" => "0".to_owned(),
        s => s.to_owned(),
    };
    Some(
        Dec {
            negative,
            coefficient,
            exponent,
        }
        .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> String {
        canonical(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn reference_examples() {
        // Protocol reference §C.3 (outputs of the Python SDK's canonicalize_dec).
        assert_eq!(c("1.2345e-07"), "1.2345E-7");
        assert_eq!(c("0.1"), "0.1");
        assert_eq!(c("100"), "100");
        assert_eq!(c("1e3"), "1E+3");
        assert_eq!(c("0.10"), "0.10");
        assert_eq!(c("0.0"), "0.0");
        assert_eq!(c("-0.0"), "-0.0");
        assert_eq!(c("1e21"), "1E+21");
        assert_eq!(c("123.450000"), "123.450000");
    }

    #[test]
    fn plain_and_exponent_forms_meet() {
        for (input, want) in [
            ("1E-7", "1E-7"),
            ("0.0000001", "1E-7"),
            ("1e-6", "0.000001"),
            ("1.5e-6", "0.0000015"),
            ("12e-8", "1.2E-7"),
            ("1.23E+2", "123"),
            ("1.230E+2", "123.0"),
            ("10e1", "1.0E+2"),
            ("5E+0", "5"),
            ("0e5", "0E+5"),
            ("0e-10", "0E-10"),
            ("0.000", "0.000"),
            ("0.00000010", "1.0E-7"),
            ("007.50", "7.50"),
            ("000", "0"),
            ("+7", "7"),
            (".5", "0.5"),
            ("5.", "5"),
            ("-1e3", "-1E+3"),
            ("-0", "-0"),
            ("-2.50", "-2.50"),
        ] {
            assert_eq!(c(input), want, "{input}");
            assert_eq!(c(want), want, "canonical form of {input} is stable");
        }
    }

    #[test]
    fn keeps_34_digits_rounding_down() {
        let exact = "1.234567890123456789012345678901234";
        assert_eq!(c(exact), exact);
        assert_eq!(c("1.2345678901234567890123456789012349"), exact);
        assert_eq!(
            c("-99999999999999999999999999999999999"),
            "-9.999999999999999999999999999999999E+34"
        );
    }

    #[test]
    fn refuses_what_the_chain_refuses() {
        assert_eq!(canonical(""), Err(DecError::Empty));
        for s in [
            "NaN",
            "nan",
            "-NaN",
            "sNaN",
            "Infinity",
            "-Infinity",
            "inf",
            "+Inf",
        ] {
            assert!(matches!(canonical(s), Err(DecError::NotFinite(_))), "{s}");
        }
        for s in [
            "abc", "1.2.3", "1e", "e5", ".", "-", "+", "1,5", "0x10", "1e+", "1_000", "--1", "1 2",
            "１", " 1", "1 ", "1e5.0",
        ] {
            assert!(matches!(canonical(s), Err(DecError::Malformed(_))), "{s}");
        }
        for s in ["1e999999", "1e99999999999999999999", "1e-100001"] {
            assert!(
                matches!(canonical(s), Err(DecError::ExponentOutOfRange(_))),
                "{s}"
            );
        }
    }

    #[test]
    fn an_empty_field_is_re_marshalled_as_zero() {
        assert_eq!(remarshal_field("").as_deref(), Ok("0"));
        assert_eq!(remarshal_field("1e3").as_deref(), Ok("1E+3"));
    }

    #[test]
    fn floats_render_like_python_str() {
        for (v, want) in [
            (1.2345e-7, "1.2345E-7"),
            (0.1, "0.1"),
            (100.0, "100.0"),
            (2.0, "2.0"),
            (1e21, "1E+21"),
            (1e16, "1E+16"),
            (1e15, "1000000000000000.0"),
            (0.0001, "0.0001"),
            (0.00001, "0.00001"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (123.45, "123.45"),
            (-3.75, "-3.75"),
            (0.1 + 0.2, "0.30000000000000004"),
        ] {
            assert_eq!(from_f64(v).as_deref(), Some(want), "{v}");
        }
        assert_eq!(from_f64(f64::NAN), None);
        assert_eq!(from_f64(f64::INFINITY), None);
    }

    #[test]
    fn parses_both_forms_as_floats() {
        assert_eq!(parse_f64("1E-7"), Some(1e-7));
        assert_eq!(parse_f64("0.0000001"), Some(1e-7));
        assert_eq!(parse_f64("-2.5"), Some(-2.5));
        assert_eq!(parse_f64("1E+400"), None);
        assert_eq!(parse_f64("junk"), None);
        for v in [0.1, 1e-300, 123456.789, -9.87e20, 5.0 / 3.0] {
            let text = from_f64(v).expect("finite");
            assert_eq!(parse_f64(&text), Some(v), "{text}");
        }
    }
}
