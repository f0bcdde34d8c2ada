//! Validation of the decimal strings adapters return.
//!
//! Values cross the sandbox boundary as strings; before anything is signed they must be
//! finite decimals in the chain's canonical form (protocol reference §C.3), or the chain's
//! re-encoding would break the bundle signature. [`canonical_decimal`] is the single entry
//! point; it bounds the input and delegates to [`allora_protocol::decimal::canonicalize`], the same
//! function the chain client and devnet use.

/// Longest decimal string accepted from an adapter (far beyond any meaningful precision).
const MAX_DECIMAL_LEN: usize = 128;

/// Returns the canonical form of a finite decimal string, or why it is not one.
/// Surrounding whitespace (a trailing newline from a body, say) is tolerated here because
/// the canonical form written back never contains it.
pub fn canonical_decimal(s: &str) -> Result<String, String> {
    if s.len() > MAX_DECIMAL_LEN {
        return Err(format!("decimal longer than {MAX_DECIMAL_LEN} characters"));
    }
    allora_protocol::decimal::canonicalize(s.trim()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::canonical_decimal as c;

    #[test]
    fn reference_examples() {
        for (input, want) in [
            ("1.2345e-07", "1.2345E-7"),
            ("0.1", "0.1"),
            ("100", "100"),
            ("1e3", "1E+3"),
            ("0.10", "0.10"),
            ("0.0", "0.0"),
            ("-0.0", "-0.0"),
            ("1e21", "1E+21"),
            ("123.450000", "123.450000"),
            ("0.000001", "0.000001"),
            ("0.0000001", "1E-7"),
            ("+3012.5", "3012.5"),
            (" 42 ", "42"),
            ("007", "7"),
        ] {
            assert_eq!(c(input).unwrap(), want, "{input}");
        }
    }

    #[test]
    fn rejects_non_finite_and_junk() {
        for bad in [
            "", "NaN", "nan", "Infinity", "-inf", "abc", "1.2.3", ".", "1e", "--1", "0x10", "1,5",
        ] {
            assert!(c(bad).is_err(), "{bad:?} accepted");
        }
        assert!(c(&"1".repeat(200)).is_err());
    }
}
