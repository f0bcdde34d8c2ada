//! Canonical decimal strings, exactly as the Allora chain re-renders them.
//!
//! The chain stores every `alloraMath.Dec` as an apd decimal and re-encodes it with
//! `Text('G')` before verifying a bundle signature (protocol reference §C.1, §C.3). A value
//! signed in any other spelling (`1e-7` instead of `1E-7`, `0.1000` vs `0.1` is fine because
//! trailing zeros are kept) breaks the signature, so everything we sign goes through
//! [`canonicalize`] first. Parsing accepts both the plain form REST/JSON uses and the
//! exponent form gRPC uses.

use thiserror::Error;

/// Significant digits of the chain's decimal128 context (`dec128Context`, RoundDown).
pub const MAX_SIGNIFICANT_DIGITS: usize = 34;

/// apd's exponent bounds (`apd.MaxExponent` / `apd.MinExponent`).
const MAX_EXPONENT: i64 = 100_000;

/// Why a string or float is not an acceptable chain decimal.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecimalError {
    #[error("empty decimal string")]
    Empty,
    #[error("{0:?} is not a finite number (NaN and Infinity are rejected by the chain)")]
    NotFinite(String),
    #[error("{0:?} is not a decimal number (expected e.g. \"12.5\", \"-0.001\" or \"1.2E-7\")")]
    Invalid(String),
    #[error("{0:?} has an exponent outside the chain's range (|exponent| <= {MAX_EXPONENT})")]
    ExponentOutOfRange(String),
    #[error("{0:?} is outside the chain's BoundedExp40Dec range (0, or 1E-40 <= |v| <= 1E+40)")]
    OutOfBounds(String),
}

/// A parsed decimal: sign, coefficient digits (no leading zeros, "0" for zero) and exponent.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Parsed {
    negative: bool,
    digits: String,
    exponent: i64,
}

fn parse(s: &str) -> Result<Parsed, DecimalError> {
    if s.is_empty() {
        return Err(DecimalError::Empty);
    }
    let invalid = || DecimalError::Invalid(s.to_owned());
    let (negative, rest) = match s.as_bytes()[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = rest.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "inf" | "infinity" | "nan" | "snan" | "+inf" | "-inf"
    ) || lower.starts_with("nan")
        || lower.starts_with("snan")
    {
        return Err(DecimalError::NotFinite(s.to_owned()));
    }
    let (mantissa, exp_part) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let mut exponent: i64 = match exp_part {
        None => 0,
        Some(e) => {
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid());
            }
            e.parse::<i64>()
                .map_err(|_| DecimalError::ExponentOutOfRange(s.to_owned()))?
        }
    };
    let (int_part, frac_part) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(invalid());
    }
    if !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(invalid());
    }
    exponent = exponent
        .checked_sub(frac_part.len() as i64)
        .ok_or_else(|| DecimalError::ExponentOutOfRange(s.to_owned()))?;
    let all: String = format!("{int_part}{frac_part}");
    let trimmed = all.trim_start_matches('0');
    let mut digits = if trimmed.is_empty() {
        "0".to_owned()
    } else {
        trimmed.to_owned()
    };
    // decimal128 context: keep at most 34 significant digits, rounding toward zero.
    // Truncation is idempotent, so the result is stable under the chain's re-encoding
    // whether or not the chain itself rounds on decode.
    if digits.len() > MAX_SIGNIFICANT_DIGITS {
        let cut = digits.len() - MAX_SIGNIFICANT_DIGITS;
        digits.truncate(MAX_SIGNIFICANT_DIGITS);
        exponent += cut as i64;
    }
    let adjusted = exponent + digits.len() as i64 - 1;
    if !(-MAX_EXPONENT..=MAX_EXPONENT).contains(&adjusted) {
        return Err(DecimalError::ExponentOutOfRange(s.to_owned()));
    }
    Ok(Parsed {
        negative,
        digits,
        exponent,
    })
}

/// apd `Text('G')`: plain notation when `exponent <= 0` and the adjusted exponent is
/// `>= -6`, otherwise scientific with an uppercase `E` and an explicit exponent sign.
fn format_g(p: &Parsed) -> String {
    let mut out = String::with_capacity(p.digits.len() + 8);
    if p.negative {
        out.push('-');
    }
    let len = p.digits.len() as i64;
    let adjusted = p.exponent + len - 1;
    if p.exponent <= 0 && adjusted >= -6 {
        if p.exponent == 0 {
            out.push_str(&p.digits);
        } else {
            let frac_len = (-p.exponent) as usize;
            if frac_len < p.digits.len() {
                let (int, frac) = p.digits.split_at(p.digits.len() - frac_len);
                out.push_str(int);
                out.push('.');
                out.push_str(frac);
            } else {
                out.push_str("0.");
                out.extend(std::iter::repeat_n('0', frac_len - p.digits.len()));
                out.push_str(&p.digits);
            }
        }
    } else {
        let (first, rest) = p.digits.split_at(1);
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        out.push('E');
        if adjusted >= 0 {
            out.push('+');
        }
        out.push_str(&adjusted.to_string());
    }
    out
}

/// Returns the chain's canonical (`Text('G')`) spelling of a decimal string.
///
/// Accepts plain (`"0.0000001"`) and exponent (`"1e-7"`, `"1E-7"`) forms; rejects empty
/// strings, NaN, Infinity and anything else that is not a finite decimal number.
pub fn canonicalize(s: &str) -> Result<String, DecimalError> {
    // No whitespace trimming: apd's SetString rejects it, and so must we, or the devnet
    // would accept bundles the chain refuses.
    parse(s).map(|p| format_g(&p))
}

/// Converts a float through its shortest round-trip representation (the way Python's
/// `str(float)` does, so values match what the reference SDK signs), then canonicalizes.
pub fn from_f64(v: f64) -> Result<String, DecimalError> {
    if !v.is_finite() {
        return Err(DecimalError::NotFinite(v.to_string()));
    }
    canonicalize(&python_repr(v))
}

/// Python's `repr(float)`: shortest digits; scientific when the decimal exponent is
/// below -4 or at least 16, otherwise plain with at least one fractional digit.
fn python_repr(v: f64) -> String {
    let sci = format!("{v:e}"); // shortest round-trip digits, e.g. "1.2345e-7", "-1e16"
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    if (-4..16).contains(&exp) {
        let plain = format!("{v}");
        if plain.contains('.') {
            plain
        } else {
            format!("{plain}.0")
        }
    } else {
        format!("{mantissa}e{exp}")
    }
}

/// The chain's `BoundedExp40Dec` check on every v10 `Input*` value: a finite decimal that
/// is exactly 0, or has 1e-40 <= |v| <= 1e40 (protocol reference §I). Decided on the
/// digits and exponent, not a float, so `1E+40` passes and `1.0000000001E+40` does not.
pub fn check_bounded_exp40(s: &str) -> Result<(), DecimalError> {
    let p = parse(s)?;
    if p.digits == "0" {
        return Ok(());
    }
    let adjusted = p.exponent + p.digits.len() as i64 - 1;
    let within = match adjusted {
        a if a < -40 => false,
        a if a < 40 => true,
        40 => p.digits[1..].bytes().all(|b| b == b'0') && p.digits.starts_with('1'),
        _ => false,
    };
    if within {
        Ok(())
    } else {
        Err(DecimalError::OutOfBounds(s.to_owned()))
    }
}

/// Parses a chain decimal (either form) into a finite `f64`.
pub fn parse_f64(s: &str) -> Result<f64, DecimalError> {
    let canonical = canonicalize(s)?;
    let v: f64 = canonical
        .parse()
        .map_err(|_| DecimalError::Invalid(s.to_owned()))?;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(DecimalError::NotFinite(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> String {
        canonicalize(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn bounded_exp40() {
        for ok in [
            "0",
            "0.0",
            "-0",
            "1E-40",
            "-1E-40",
            "1e40",
            "1E+40",
            "10000E+36",
            "-1E+40",
            "3.5",
            "9.99E+39",
            "1.5E-40",
        ] {
            assert_eq!(check_bounded_exp40(ok), Ok(()), "{ok}");
        }
        for bad in [
            "1E+999",
            "-1E+999",
            "1.0000000001E+40",
            "2E+40",
            "1E+41",
            "9.9E-41",
            "1E-41",
            "-1E-999",
        ] {
            assert_eq!(
                check_bounded_exp40(bad),
                Err(DecimalError::OutOfBounds(bad.into())),
                "{bad}"
            );
        }
        assert!(matches!(
            check_bounded_exp40("NaN"),
            Err(DecimalError::NotFinite(_))
        ));
    }

    #[test]
    fn reference_examples() {
        // protocol reference §C.3, produced by the Python SDK's canonicalize_dec
        assert_eq!(c("1.2345e-07"), "1.2345E-7");
        assert_eq!(c("0.1"), "0.1");
        assert_eq!(c("100"), "100");
        assert_eq!(c("1e3"), "1E+3");
        assert_eq!(c("0.10"), "0.10");
        assert_eq!(c("0.0"), "0.0");
        assert_eq!(c("-0.0"), "-0.0");
        assert_eq!(c("1e21"), "1E+21");
    }

    #[test]
    fn exponent_forms() {
        assert_eq!(c("1E-7"), "1E-7");
        assert_eq!(c("1e-6"), "0.000001");
        assert_eq!(c("1.5e-6"), "0.0000015");
        assert_eq!(c("12e-8"), "1.2E-7");
        assert_eq!(c("0.0000001"), "1E-7");
        assert_eq!(c("1.23E+2"), "123");
        assert_eq!(c("1.230E+2"), "123.0");
        assert_eq!(c("123e0"), "123");
        assert_eq!(c("5E+0"), "5");
        assert_eq!(c("10e1"), "1.0E+2");
        assert_eq!(c("0e5"), "0E+5");
        assert_eq!(c("0e-10"), "0E-10");
        assert_eq!(c("+7"), "7");
        assert_eq!(c(".5"), "0.5");
        assert_eq!(c("5."), "5");
    }

    #[test]
    fn trailing_and_leading_zeros() {
        assert_eq!(c("123.450000"), "123.450000");
        assert_eq!(c("007.50"), "7.50");
        assert_eq!(c("000"), "0");
        assert_eq!(c("0.000"), "0.000");
        assert_eq!(c("0.00000010"), "1.0E-7");
    }

    #[test]
    fn negatives() {
        assert_eq!(c("-1"), "-1");
        assert_eq!(c("-0"), "-0");
        assert_eq!(c("-1.2345e-07"), "-1.2345E-7");
        assert_eq!(c("-2.50"), "-2.50");
        assert_eq!(c("-1e3"), "-1E+3");
    }

    #[test]
    fn thirty_four_significant_digits() {
        let exact = "1.234567890123456789012345678901234";
        assert_eq!(c(exact), exact);
        // the 35th digit and beyond are cut (RoundDown), not rounded up
        assert_eq!(
            c("1.2345678901234567890123456789012349"),
            "1.234567890123456789012345678901234"
        );
        assert_eq!(
            c("-99999999999999999999999999999999999"),
            "-9.999999999999999999999999999999999E+34"
        );
    }

    #[test]
    fn idempotent() {
        for s in [
            "1E-7",
            "0.10",
            "-0.0",
            "1E+21",
            "123.450000",
            "1.0E+2",
            "0E+5",
            "-1.5E-9",
        ] {
            assert_eq!(c(&c(s)), c(s), "{s}");
        }
    }

    #[test]
    fn rejections() {
        assert_eq!(canonicalize(""), Err(DecimalError::Empty));
        for bad in [
            "NaN",
            "nan",
            "-NaN",
            "sNaN",
            "Infinity",
            "-Infinity",
            "inf",
            "+Inf",
        ] {
            assert!(
                matches!(canonicalize(bad), Err(DecimalError::NotFinite(_))),
                "{bad}"
            );
        }
        for bad in [
            "abc", "1.2.3", "1e", "e5", ".", "-", "+", "1,5", "0x10", "1e+", "1_000", "--1", "1 2",
            "１", " 1", "1 ",
        ] {
            assert!(
                matches!(canonicalize(bad), Err(DecimalError::Invalid(_))),
                "{bad}: {:?}",
                canonicalize(bad)
            );
        }
        assert!(matches!(
            canonicalize("1e999999"),
            Err(DecimalError::ExponentOutOfRange(_))
        ));
        assert!(matches!(
            canonicalize("1e99999999999999999999"),
            Err(DecimalError::ExponentOutOfRange(_))
        ));
    }

    #[test]
    fn from_f64_matches_python_str() {
        assert_eq!(from_f64(1.2345e-7).unwrap(), "1.2345E-7");
        assert_eq!(from_f64(0.1).unwrap(), "0.1");
        assert_eq!(from_f64(100.0).unwrap(), "100.0");
        assert_eq!(from_f64(1e21).unwrap(), "1E+21");
        assert_eq!(from_f64(1e16).unwrap(), "1E+16");
        assert_eq!(from_f64(1e15).unwrap(), "1000000000000000.0");
        assert_eq!(from_f64(0.0001).unwrap(), "0.0001");
        assert_eq!(from_f64(0.00001).unwrap(), "0.00001");
        assert_eq!(from_f64(-0.0).unwrap(), "-0.0");
        assert_eq!(from_f64(123.45).unwrap(), "123.45");
        assert_eq!(from_f64(-3.75).unwrap(), "-3.75");
        assert_eq!(from_f64(0.1 + 0.2).unwrap(), "0.30000000000000004");
        assert!(from_f64(f64::NAN).is_err());
        assert!(from_f64(f64::INFINITY).is_err());
        assert!(from_f64(f64::NEG_INFINITY).is_err());
    }

    #[test]
    fn parse_f64_both_forms() {
        assert_eq!(parse_f64("1E-7").unwrap(), 1e-7);
        assert_eq!(parse_f64("0.0000001").unwrap(), 1e-7);
        assert_eq!(parse_f64("-2.5").unwrap(), -2.5);
        assert_eq!(parse_f64("1E+3").unwrap(), 1000.0);
        assert!(parse_f64("NaN").is_err());
        assert!(parse_f64("Infinity").is_err());
        assert!(parse_f64("").is_err());
        assert!(parse_f64("1E+400").is_err());
        assert!(parse_f64("junk").is_err());
        for v in [0.1, 1e-300, 123456.789, -9.87e20] {
            assert_eq!(parse_f64(&from_f64(v).unwrap()).unwrap(), v);
        }
    }
}
