//! `application/x-www-form-urlencoded` bodies and `Cookie` headers, parsed without a framework.

/// Largest form body accepted (the login form is far smaller).
pub const MAX_FORM_BYTES: usize = 4096;

/// The fields of a urlencoded body, in order; None when it is not valid UTF-8 after decoding or
/// has a bad `%` escape.
pub fn parse(body: &[u8]) -> Option<Vec<(String, String)>> {
    let text = std::str::from_utf8(body).ok()?;
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            Some((decode(name)?, decode(value)?))
        })
        .collect()
}

/// The first value of `name` in parsed fields.
pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Percent-decode one component (`+` is a space).
fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|part| {
        let (n, v) = part.trim().split_once('=')?;
        (n == name).then_some(v.trim())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_forms_and_rejects_bad_escapes() {
        let fields = parse(b"password=a%20b+c%26&csrf=x&empty=&flag").expect("form");
        assert_eq!(field(&fields, "password"), Some("a b c&"));
        assert_eq!(field(&fields, "csrf"), Some("x"));
        assert_eq!(field(&fields, "empty"), Some(""));
        assert_eq!(field(&fields, "flag"), Some(""));
        assert_eq!(field(&fields, "missing"), None);
        assert_eq!(parse(b"").expect("empty"), Vec::new());
        assert_eq!(parse(b"a=%zz"), None);
        assert_eq!(parse(b"a=%4"), None);
        assert_eq!(parse(b"a=%ff"), None, "not UTF-8 once decoded");
        assert_eq!(parse(&[0xff, b'=', b'1']), None);
        assert_eq!(
            field(&parse("p=%C3%A9t%C3%A9".as_bytes()).expect("utf8"), "p"),
            Some("été")
        );
    }

    #[test]
    fn finds_cookies() {
        let header = "a=1; sb_session=abc ;b=2=3";
        assert_eq!(cookie(header, "sb_session"), Some("abc"));
        assert_eq!(cookie(header, "b"), Some("2=3"));
        assert_eq!(cookie(header, "c"), None);
        assert_eq!(cookie("", "a"), None);
        assert_eq!(cookie("garbage", "garbage"), None);
    }
}
