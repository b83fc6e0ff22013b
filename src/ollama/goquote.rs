//! Go's quoted strings, as `strconv.Quote` writes them: the values of Ollama's `log/slog` text
//! lines (`description="Apple M4"`) and the strings of `/api/show` `parameters` (`%#v` of a
//! string is `strconv.Quote`). Pure.

/// Decodes the Go-quoted string that starts `text` (its first byte must be `"`): the decoded
/// text and the number of bytes it took, closing quote included; `None` when it is not a
/// complete, valid quoted string.
///
/// Escapes are `strconv.Quote`'s (and `strconv.Unquote`'s): `\a \b \f \n \r \t \v \\ \"`,
/// `\xNN`, `\NNN` (octal), `\uNNNN` and `\UNNNNNNNN`.
pub(crate) fn unquote_prefix(text: &str) -> Option<(String, usize)> {
    let mut chars = text.char_indices();
    if chars.next()?.1 != '"' {
        return None;
    }
    let mut out = String::new();
    // `\x`/octal escapes are bytes that may form UTF-8 sequences together.
    let mut bytes: Vec<u8> = Vec::new();
    let flush = |bytes: &mut Vec<u8>, out: &mut String| {
        if !bytes.is_empty() {
            out.push_str(&String::from_utf8_lossy(bytes));
            bytes.clear();
        }
    };
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => {
                flush(&mut bytes, &mut out);
                return Some((out, at + 1));
            }
            '\\' => {
                let (_, e) = chars.next()?;
                let simple = match e {
                    'a' => Some('\u{7}'),
                    'b' => Some('\u{8}'),
                    'f' => Some('\u{c}'),
                    'n' => Some('\n'),
                    'r' => Some('\r'),
                    't' => Some('\t'),
                    'v' => Some('\u{b}'),
                    '\\' => Some('\\'),
                    '"' => Some('"'),
                    '\'' => Some('\''),
                    _ => None,
                };
                if let Some(s) = simple {
                    flush(&mut bytes, &mut out);
                    out.push(s);
                    continue;
                }
                match e {
                    'x' => bytes.push(u8::try_from(hex(&mut chars, 2)?).ok()?),
                    '0'..='7' => {
                        let mut n = e.to_digit(8)?;
                        for _ in 0..2 {
                            n = n * 8 + chars.next()?.1.to_digit(8)?;
                        }
                        bytes.push(u8::try_from(n).ok()?);
                    }
                    'u' | 'U' => {
                        flush(&mut bytes, &mut out);
                        let n = hex(&mut chars, if e == 'u' { 4 } else { 8 })?;
                        out.push(char::from_u32(n)?);
                    }
                    _ => return None,
                }
            }
            '\n' => return None,
            other => {
                flush(&mut bytes, &mut out);
                out.push(other);
            }
        }
    }
    None
}

fn hex(chars: &mut std::str::CharIndices<'_>, digits: usize) -> Option<u32> {
    let mut n = 0u32;
    for _ in 0..digits {
        n = n.checked_mul(16)? + chars.next()?.1.to_digit(16)?;
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::unquote_prefix;

    #[test]
    fn plain_and_escaped_strings_decode_with_their_length() {
        assert_eq!(
            unquote_prefix(r#""Apple M4" rest"#),
            Some(("Apple M4".to_owned(), 10))
        );
        assert_eq!(unquote_prefix(r#""""#), Some((String::new(), 2)));
        assert_eq!(
            unquote_prefix(r#""a\"b\\c\n\t\u00e9\x41\101\U0001F600""#).map(|(s, _)| s),
            Some("a\"b\\c\n\téAA\u{1F600}".to_owned())
        );
        // Bytes of one UTF-8 sequence written as `\x` escapes.
        assert_eq!(
            unquote_prefix(r#""\xc3\xa9""#).map(|(s, _)| s),
            Some("é".to_owned())
        );
    }

    #[test]
    fn incomplete_or_invalid_strings_are_refused() {
        assert_eq!(unquote_prefix("Apple"), None);
        assert_eq!(unquote_prefix(r#""open"#), None);
        assert_eq!(unquote_prefix(r#""bad \q""#), None);
        assert_eq!(unquote_prefix(r#""bad \x4""#), None);
    }
}
