//! Text from guests that reaches signed payloads or the node's log.
//!
//! Labels and inferer names are signed and shown to people: [`is_hidden`] finds the
//! characters that make two different strings look the same or reorder what is displayed
//! (controls, Unicode format characters such as bidi overrides and zero-width spaces, line
//! and paragraph separators), which are refused. Guest log text and captured output are
//! escaped with [`escape_for_log`] so a newline or carriage return can never start a forged
//! line in the text log format.

/// Whether `c` is a control character (Cc), a format character (Cf: bidi controls, zero-width
/// characters, the BOM, tag characters, …) or a line/paragraph separator (Zl/Zp).
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            u32::from(c),
            0x00AD
                | 0x0600..=0x0605
                | 0x061C
                | 0x06DD
                | 0x070F
                | 0x0890..=0x0891
                | 0x08E2
                | 0x180E
                | 0x200B..=0x200F
                | 0x2028..=0x202E
                | 0x2060..=0x2064
                | 0x2066..=0x206F
                | 0xFEFF
                | 0xFFF9..=0xFFFB
                | 0x110BD
                | 0x110CD
                | 0x13430..=0x1343F
                | 0x1BCA0..=0x1BCA3
                | 0x1D173..=0x1D17A
                | 0xE0001
                | 0xE0020..=0xE007F
        )
}

/// The first hidden character of `s`, if any.
pub fn first_hidden(s: &str) -> Option<char> {
    s.chars().find(|&c| is_hidden(c))
}

/// `s` with every hidden character written as an escape (`\n`, `\r`, `\t`, `\u{202e}`), so
/// the text stays on one log line and displays as what it is.
pub fn escape_for_log(s: &str) -> std::borrow::Cow<'_, str> {
    if first_hidden(s).is_none() {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_hidden(c) => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_characters() {
        for c in [
            '\u{202E}',
            '\u{200B}',
            '\u{200D}',
            '\u{2066}',
            '\u{FEFF}',
            '\u{00AD}',
            '\u{E0041}',
            '\u{2028}',
            '\n',
            '\u{7}',
            '\u{85}',
        ] {
            assert!(is_hidden(c), "{:x}", u32::from(c));
        }
        for c in ['a', 'é', '€', '中', ' ', '-', '_', '😀'] {
            assert!(!is_hidden(c), "{c}");
        }
    }

    #[test]
    fn escaping_keeps_one_line() {
        let forged = "ok\n2026-01-01T00:00:00Z  INFO forged\r\u{202E}x\tend";
        let e = escape_for_log(forged);
        assert!(!e.contains(['\n', '\r', '\u{202E}', '\t']), "{e}");
        assert_eq!(
            e,
            "ok\\n2026-01-01T00:00:00Z  INFO forged\\r\\u{202e}x\\tend"
        );
        assert!(matches!(
            escape_for_log("plain"),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
