//! Validation of the decimal strings adapters return.
//!
//! Values cross the sandbox boundary as strings; before anything is signed they must be
//! finite decimals in the chain's canonical form (protocol reference §C.3), or the chain's
//! re-encoding would break the bundle signature. [`canonical_decimal`] is the single entry
//! point so the implementation can move to `crate::decimal::canonicalize` (owned by the chain
//! client) without touching callers.

/// Longest decimal string accepted from an adapter (far beyond any meaningful precision).
const MAX_DECIMAL_LEN: usize = 128;

/// Returns the canonical form of a finite decimal string, or why it is not one.
pub fn canonical_decimal(s: &str) -> Result<String, String> {
    if s.len() > MAX_DECIMAL_LEN {
        return Err(format!("decimal longer than {MAX_DECIMAL_LEN} characters"));
    }
    canonicalize_local(s.trim())
}

/// apd `Text('G')` formatting of a parsed decimal (sign, coefficient digits, exponent).
fn canonicalize_local(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Err("empty value".into());
    }
    let (negative, rest) = match s.as_bytes()[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (mantissa, exp) = match rest.find(['e', 'E']) {
        Some(i) => {
            let e: i64 = rest[i + 1..]
                .parse()
                .map_err(|_| format!("{s:?} is not a finite decimal"))?;
            (&rest[..i], e)
        }
        None => (rest, 0),
    };
    let (int_part, frac_part) = match mantissa.split_once('.') {
        Some((i, f)) => (i, f),
        None => (mantissa, ""),
    };
    if int_part.is_empty() && frac_part.is_empty()
        || !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(format!("{s:?} is not a finite decimal"));
    }
    let digits: String = format!("{int_part}{frac_part}");
    let coeff = digits.trim_start_matches('0');
    let coeff = if coeff.is_empty() { "0" } else { coeff };
    let e = exp
        .checked_sub(frac_part.len() as i64)
        .ok_or_else(|| format!("{s:?}: exponent out of range"))?;
    if e.abs() > 100_000 {
        return Err(format!("{s:?}: exponent out of range"));
    }
    let adj = e + coeff.len() as i64 - 1;
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if e <= 0 && adj >= -6 {
        let point = (-e) as usize;
        if point == 0 {
            out.push_str(coeff);
        } else if coeff.len() > point {
            let (a, b) = coeff.split_at(coeff.len() - point);
            out.push_str(a);
            out.push('.');
            out.push_str(b);
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', point - coeff.len()));
            out.push_str(coeff);
        }
    } else {
        out.push_str(&coeff[..1]);
        if coeff.len() > 1 {
            out.push('.');
            out.push_str(&coeff[1..]);
        }
        out.push('E');
        out.push(if adj < 0 { '-' } else { '+' });
        out.push_str(&adj.abs().to_string());
    }
    Ok(out)
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
