//! CUSTOM_ATTRIBUTES of the user import: "a specially formatted JSON string" (seed
//! L4359–L4362) whose own example, `{'key1':'value1','key2':'value2'}`, uses single quotes.

use std::collections::BTreeMap;

/// Reads a user's custom attributes: a flat object of names to values, written as strict JSON
/// (`{"key1": "value1"}`) or in the seed's single-quoted form (`{'key1':'value1'}`); the two
/// quote styles may be mixed. Values may be strings, numbers or `true`/`false` and are kept as
/// text (a user's attributes are a `BTreeMap<String, String>`). Nested objects, arrays, `null`,
/// empty names and repeated names are refused. The error says what is wrong, for the import log.
pub fn parse_custom_attributes(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut parser = Parser { chars: text.chars().collect(), at: 0 };
    parser.object().map_err(|e| format!("must be an object like {{'key1':'value1','key2':'value2'}}: {e}"))
}

/// A cursor over the attribute text.
struct Parser {
    chars: Vec<char>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.at += 1;
        }
    }

    fn expect(&mut self, want: char) -> Result<(), String> {
        self.skip_space();
        match self.peek() {
            Some(c) if c == want => {
                self.at += 1;
                Ok(())
            }
            Some(c) => Err(format!("expected `{want}` but found `{c}`")),
            None => Err(format!("expected `{want}` but the text ends")),
        }
    }

    fn object(&mut self) -> Result<BTreeMap<String, String>, String> {
        let mut map = BTreeMap::new();
        self.expect('{')?;
        self.skip_space();
        if self.peek() == Some('}') {
            self.at += 1;
        } else {
            loop {
                self.skip_space();
                let key = match self.peek() {
                    Some(q @ ('\'' | '"')) => {
                        self.at += 1;
                        self.string(q)?
                    }
                    _ => return Err("each name must be in quotes".to_owned()),
                };
                if key.is_empty() {
                    return Err("a name is empty".to_owned());
                }
                self.expect(':')?;
                let value = self.value(&key)?;
                if map.insert(key.clone(), value).is_some() {
                    return Err(format!("the name `{key}` appears twice"));
                }
                self.skip_space();
                match self.peek() {
                    Some(',') => self.at += 1,
                    Some('}') => {
                        self.at += 1;
                        break;
                    }
                    Some(c) => return Err(format!("expected `,` or `}}` but found `{c}`")),
                    None => return Err("the object is not closed with `}`".to_owned()),
                }
            }
        }
        self.skip_space();
        match self.peek() {
            None => Ok(map),
            Some(c) => Err(format!("unexpected `{c}` after the closing `}}`")),
        }
    }

    /// A value: a quoted string, or a bare number or boolean, as text.
    fn value(&mut self, key: &str) -> Result<String, String> {
        self.skip_space();
        match self.peek() {
            Some(q @ ('\'' | '"')) => {
                self.at += 1;
                self.string(q)
            }
            Some('{' | '[') => Err(format!("the value of `{key}` must be text, a number or true/false")),
            Some(_) => {
                let start = self.at;
                while self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-')) {
                    self.at += 1;
                }
                let token: String = self.chars[start..self.at].iter().collect();
                let is_number = serde_json::from_str::<serde_json::Number>(&token).is_ok();
                if is_number || token == "true" || token == "false" {
                    Ok(token)
                } else if token.is_empty() {
                    Err(format!("the value of `{key}` is missing"))
                } else {
                    Err(format!("the value of `{key}` must be quoted (found `{token}`)"))
                }
            }
            None => Err(format!("the value of `{key}` is missing")),
        }
    }

    /// The rest of a string opened by `quote`, with JSON's escapes plus `\'`.
    fn string(&mut self, quote: char) -> Result<String, String> {
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else { return Err(format!("a {quote} quote is not closed")) };
            self.at += 1;
            match c {
                c if c == quote => return Ok(out),
                '\\' => out.push(self.escape()?),
                c if c.is_control() => return Err("a string holds a control character".to_owned()),
                c => out.push(c),
            }
        }
    }

    /// The character after a backslash (already consumed).
    fn escape(&mut self) -> Result<char, String> {
        let Some(c) = self.peek() else { return Err("the text ends after `\\`".to_owned()) };
        self.at += 1;
        Ok(match c {
            '"' | '\'' | '\\' | '/' => c,
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'u' => {
                let high = self.hex4()?;
                if (0xD800..0xDC00).contains(&high) {
                    if self.chars.get(self.at..self.at + 2) != Some(&['\\', 'u'][..]) {
                        return Err("a \\u escape is half a surrogate pair".to_owned());
                    }
                    self.at += 2;
                    let low = self.hex4()?;
                    if !(0xDC00..0xE000).contains(&low) {
                        return Err("a \\u escape is half a surrogate pair".to_owned());
                    }
                    char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
                        .ok_or_else(|| "a \\u escape is not a character".to_owned())?
                } else {
                    char::from_u32(high).ok_or_else(|| "a \\u escape is not a character".to_owned())?
                }
            }
            other => return Err(format!("`\\{other}` is not an escape")),
        })
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let digits: String = self.chars.get(self.at..self.at + 4).unwrap_or_default().iter().collect();
        if digits.len() != 4 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err("a \\u escape needs four hex digits".to_owned());
        }
        self.at += 4;
        u32::from_str_radix(&digits, 16).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn br_uimp_custom_attributes_seed_single_quoted_form() {
        assert_eq!(
            parse_custom_attributes("{'key1':'value1','key2':'value2'}").unwrap(),
            map(&[("key1", "value1"), ("key2", "value2")])
        );
    }

    #[test]
    fn br_uimp_custom_attributes_strict_json() {
        let text = r#" { "site" : "Utrecht", "floor": 3, "remote": false, "ratio": -1.5e2, "quote": "it's \"x\" \u00e9\ud83d\ude00" } "#;
        assert_eq!(
            parse_custom_attributes(text).unwrap(),
            map(&[
                ("site", "Utrecht"),
                ("floor", "3"),
                ("remote", "false"),
                ("ratio", "-1.5e2"),
                ("quote", "it's \"x\" é😀")
            ])
        );
        assert_eq!(parse_custom_attributes("{}").unwrap(), BTreeMap::new());
        assert_eq!(parse_custom_attributes(r"{'o\'Neil':'a,b'}").unwrap(), map(&[("o'Neil", "a,b")]));
    }

    #[test]
    fn br_uimp_custom_attributes_refuse_everything_else() {
        for bad in [
            "",
            "key1=value1",
            "[1,2]",
            "{key1:'value1'}",
            "{'key1':value1}",
            "{'key1':'value1',}",
            "{'key1':'value1'",
            "{'key1':'value1'} extra",
            "{'key1':null}",
            "{'key1':{'a':'b'}}",
            "{'key1':['a']}",
            "{'':'x'}",
            "{'a':'1','a':'2'}",
            "{'a':'unclosed}",
            r"{'a':'\x'}",
            r"{'a':'\ud83d'}",
            "{'a' 'b'}",
        ] {
            let err = parse_custom_attributes(bad).expect_err(bad);
            assert!(err.starts_with("must be an object like {'key1':'value1','key2':'value2'}: "), "{err}");
        }
        assert!(parse_custom_attributes("{'a':'1','a':'2'}").unwrap_err().ends_with("the name `a` appears twice"));
    }
}
