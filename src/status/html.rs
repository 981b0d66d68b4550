//! HTML/XML text escaping and compact number formatting shared by the views and the plots.

use std::fmt::Write;

/// Escape `&`, `<`, `>`, `"` and `'` for text and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// A number in at most about four significant characters: `950`, `1.2k`, `34M`, `1.8E`.
pub fn compact(value: f64) -> String {
    if !value.is_finite() {
        return "?".into();
    }
    let sign = if value < 0.0 { "-" } else { "" };
    let mut v = value.abs();
    let mut unit = "";
    for next in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
        if v < 999.5 {
            break;
        }
        v /= 1000.0;
        unit = next;
    }
    let mut out = String::new();
    if v >= 100.0 || (v.fract() == 0.0) || v == 0.0 {
        let _ = write!(out, "{sign}{v:.0}{unit}");
    } else if v >= 10.0 {
        let _ = write!(out, "{sign}{}{unit}", trim(&format!("{v:.1}")));
    } else {
        let _ = write!(out, "{sign}{}{unit}", trim(&format!("{v:.2}")));
    }
    out
}

/// Drop trailing zeros of a decimal.
fn trim(text: &str) -> &str {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        text
    }
}

/// Bytes as `12.3 MiB`.
pub fn bytes(n: u64) -> String {
    let mut v = n as f64;
    for unit in ["B", "KiB", "MiB", "GiB"] {
        if v < 1024.0 {
            return if unit == "B" {
                format!("{n} B")
            } else {
                format!("{v:.1} {unit}")
            };
        }
        v /= 1024.0;
    }
    format!("{v:.1} TiB")
}

/// Milliseconds as `850 ms`, `12.3 s` or `4.5 min`.
pub fn millis(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        format!("{:.1} min", ms as f64 / 60_000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_control_characters() {
        assert_eq!(
            escape(r#"<script>"a" & 'b'</script>"#),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
        assert_eq!(escape("a\u{0}b\u{1b}c"), "abc");
    }

    #[test]
    fn formats_numbers_compactly() {
        assert_eq!(compact(0.0), "0");
        assert_eq!(compact(950.0), "950");
        assert_eq!(compact(1234.0), "1.23k");
        assert_eq!(compact(20_000.0), "20k");
        assert_eq!(compact(34_500_000.0), "34.5M");
        assert_eq!(compact(-1500.0), "-1.5k");
        assert_eq!(compact(u64::MAX as f64), "18.4E");
        assert_eq!(compact(f64::NAN), "?");
        assert_eq!(compact(0.25), "0.25");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(3 << 20), "3.0 MiB");
        assert_eq!(millis(850), "850 ms");
        assert_eq!(millis(12_345), "12.3 s");
        assert_eq!(millis(270_000), "4.5 min");
    }
}
