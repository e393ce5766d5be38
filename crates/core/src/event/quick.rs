//! A one-pass check that a line is a JSON object which the full parse accepts, for the ingest hot
//! path. It never says "valid" when serde_json would refuse: whatever it is not sure of (syntax
//! errors, `\u` escapes that are not plain characters, numbers with an exponent or more digits
//! than an `f64` keeps exactly, escaped top-level keys, nesting past the limit) it hands back as
//! [`Quick::Unsure`], and the caller asks serde_json, which also words the error.
//!
//! Why by hand: serde_json's shallow parse (`IgnoredAny` for all but the time fields) cost about
//! three quarters of a microsecond per 420-byte event, most of ingest's CPU; this check walks
//! the bytes once and skips string bodies with a branch-free scan.

use super::TIME_FIELDS;

/// The verdict on one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Quick<'a> {
    /// A JSON object, with the raw text of the first present, non-null field of `@timestamp`,
    /// `timestamp` and `date` (the last occurrence, when a key repeats, as the full parse keeps).
    Valid(Option<(&'static str, &'a str)>),
    /// Not decided here.
    Unsure,
}

/// Checks `text` as one JSON object nested at most `max_depth` levels.
pub(crate) fn check_object(text: &[u8], max_depth: usize) -> Quick<'_> {
    // Invalid UTF-8 is refused by serde_json inside strings and is a syntax error outside them,
    // so one check of the whole line up front settles it for both.
    let Ok(text) = std::str::from_utf8(text) else { return Quick::Unsure };
    let mut walk = Walk { bytes: text.as_bytes(), at: 0, max_depth, times: [None; 3] };
    walk.skip_space();
    if walk.peek() != Some(b'{') || walk.object(1, true).is_none() {
        return Quick::Unsure;
    }
    walk.skip_space();
    if walk.at != walk.bytes.len() {
        return Quick::Unsure;
    }
    let time = TIME_FIELDS.iter().zip(walk.times).find_map(|(key, span)| {
        let (start, end) = span?;
        let raw = text.get(start..end)?;
        (raw != "null").then_some((*key, raw))
    });
    Quick::Valid(time)
}

struct Walk<'a> {
    bytes: &'a [u8],
    at: usize,
    max_depth: usize,
    /// Byte spans of the time fields' values, per [`TIME_FIELDS`].
    times: [Option<(usize, usize)>; 3],
}

/// `None` throughout means "not sure": the caller falls back to serde_json.
impl Walk<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.at += 1)
    }

    fn value(&mut self, depth: usize) -> Option<()> {
        match self.peek()? {
            b'{' => self.object(depth + 1, false),
            b'[' => self.array(depth + 1),
            b'"' => self.string().map(|_| ()),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn object(&mut self, depth: usize, top: bool) -> Option<()> {
        if depth > self.max_depth {
            return None;
        }
        self.eat(b'{')?;
        self.skip_space();
        if self.eat(b'}').is_some() {
            return Some(());
        }
        loop {
            self.skip_space();
            let (start, escaped) = (self.at + 1, self.string()?);
            let key = self.bytes.get(start..self.at - 1)?;
            let slot =
                if top { TIME_FIELDS.iter().position(|k| k.as_bytes() == key) } else { None };
            if top && escaped {
                // An escaped key may spell a time field; serde_json decides.
                return None;
            }
            self.skip_space();
            self.eat(b':')?;
            self.skip_space();
            let value_start = self.at;
            self.value(depth)?;
            if let Some(slot) = slot.and_then(|slot| self.times.get_mut(slot)) {
                *slot = Some((value_start, self.at));
            }
            self.skip_space();
            match self.peek()? {
                b',' => self.at += 1,
                b'}' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn array(&mut self, depth: usize) -> Option<()> {
        if depth > self.max_depth {
            return None;
        }
        self.eat(b'[')?;
        self.skip_space();
        if self.eat(b']').is_some() {
            return Some(());
        }
        loop {
            self.skip_space();
            self.value(depth)?;
            self.skip_space();
            match self.peek()? {
                b',' => self.at += 1,
                b']' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// A string from its opening quote to past its closing one; says whether it had escapes.
    fn string(&mut self) -> Option<bool> {
        self.eat(b'"')?;
        let mut escaped = false;
        loop {
            self.at += plain_run(self.bytes.get(self.at..)?);
            match self.peek()? {
                b'"' => {
                    self.at += 1;
                    return Some(escaped);
                }
                b'\\' => {
                    self.at += 1;
                    escaped = true;
                    match self.peek()? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.at += 1,
                        b'u' => self.unicode_escape()?,
                        _ => return None,
                    }
                }
                // A control character, which must be escaped.
                _ => return None,
            }
        }
    }

    /// `\uXXXX` (the `u` under the cursor): a character, or a surrogate pair written as two.
    fn unicode_escape(&mut self) -> Option<()> {
        let unit = self.hex4()?;
        match unit {
            0xD800..=0xDBFF => {
                self.eat(b'\\')?;
                let low = self.hex4()?;
                (0xDC00..=0xDFFF).contains(&low).then_some(())
            }
            // A lone trailing surrogate: serde_json decides.
            0xDC00..=0xDFFF => None,
            _ => Some(()),
        }
    }

    /// `uXXXX` under the cursor.
    fn hex4(&mut self) -> Option<u16> {
        self.eat(b'u')?;
        let digits = std::str::from_utf8(self.bytes.get(self.at..self.at + 4)?).ok()?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        self.at += 4;
        u16::from_str_radix(digits, 16).ok()
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        if self.bytes.get(self.at..self.at + word.len())? != word {
            return None;
        }
        self.at += word.len();
        Some(())
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?`, at most 15 significant digits, which an `f64` holds
    /// exactly and an `i64` too; exponents and longer numbers are left to serde_json, which
    /// refuses those out of range.
    fn number(&mut self) -> Option<()> {
        let _ = self.eat(b'-');
        let digits = |walk: &mut Self| {
            let from = walk.at;
            while let Some(b'0'..=b'9') = walk.peek() {
                walk.at += 1;
            }
            walk.at - from
        };
        let first = self.peek()?;
        let whole = digits(self);
        if whole == 0 || (first == b'0' && whole > 1) {
            return None;
        }
        let mut fraction = 0;
        if self.eat(b'.').is_some() {
            fraction = digits(self);
            if fraction == 0 {
                return None;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) || whole + fraction > 15 {
            return None;
        }
        Some(())
    }
}

/// Whether `raw` (a JSON value's text) is a time in the one shape nearly every shipper writes,
/// `"YYYY-MM-DDTHH:MM:SS[.fraction]Z"`, with every part in range: then the full parse would
/// accept it, and need not run. `false` only means "ask the full parse" (other shapes, offsets,
/// escapes, leap seconds and years outside 1970–2999 all go there).
pub(crate) fn plain_utc_time(raw: &str) -> bool {
    let Some(text) = raw.strip_prefix('"').and_then(|rest| rest.strip_suffix("Z\"")) else {
        return false;
    };
    let bytes = text.as_bytes();
    let (Some(date), Some(rest)) = (bytes.get(..19), bytes.get(19..)) else { return false };
    let fraction_ok = match rest {
        [] => true,
        [b'.', digits @ ..] => {
            (1..=9).contains(&digits.len()) && digits.iter().all(u8::is_ascii_digit)
        }
        _ => false,
    };
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        let digits = date.get(range)?;
        digits
            .iter()
            .try_fold(0u32, |n, &b| b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0')))
    };
    let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if !fraction_ok || separators.iter().any(|&(at, byte)| date.get(at) != Some(&byte)) {
        return false;
    }
    let (Some(year), Some(month), Some(day)) = (number(0..4), number(5..7), number(8..10)) else {
        return false;
    };
    let (Some(hour), Some(minute), Some(second)) = (number(11..13), number(14..16), number(17..19))
    else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => 0,
    };
    (1970..=2999).contains(&year)
        && (1..=days).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60
}

/// How many bytes at the start of `bytes` may stand unescaped in a JSON string: up to the first
/// quote, backslash or control character (or the end). Eight bytes at a time: in each word the
/// lowest flagged byte is exact (borrows only run upwards, so flags above it may be false).
fn plain_run(bytes: &[u8]) -> usize {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    let zero_in = |word: u64| word.wrapping_sub(ONES) & !word & HIGH;
    let mut words = bytes.chunks_exact(8);
    let mut done = 0;
    for chunk in words.by_ref() {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        let flags = zero_in(word ^ (ONES * u64::from(b'"')))
            | zero_in(word ^ (ONES * u64::from(b'\\')))
            | (word.wrapping_sub(ONES * 0x20) & !word & HIGH);
        if flags != 0 {
            return done + (flags.trailing_zeros() / 8) as usize;
        }
        done += 8;
    }
    done + words
        .remainder()
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .unwrap_or(words.remainder().len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(text: &str) -> Option<(&'static str, &str)> {
        match check_object(text.as_bytes(), 32) {
            Quick::Valid(time) => time,
            Quick::Unsure => panic!("unsure of {text}"),
        }
    }

    #[test]
    fn a_typical_event_is_decided_here_with_its_time() {
        let line = r#"{"@timestamp":"2026-03-01T00:00:01.001Z","event":{"category":"authentication","outcome":"failure"},"source":{"ip":"10.0.0.1","port":40001},"user":{"name":"c\"q\\\/\u00e9\ud83d\ude00"},"n":[1,-2.5,0,true,false,null,{}],"e":[]}"#;
        assert_eq!(valid(line), Some(("@timestamp", "\"2026-03-01T00:00:01.001Z\"")));
        assert_eq!(valid(" { } \n"), None);
        assert_eq!(valid(r#"{"timestamp":1772359200.25}"#), Some(("timestamp", "1772359200.25")));
    }

    #[test]
    fn the_time_field_follows_the_full_parse() {
        // Null is no time; the last of repeated keys wins; `@timestamp` before `date`.
        assert_eq!(valid(r#"{"date":"d","@timestamp":null}"#), Some(("date", "\"d\"")));
        assert_eq!(valid(r#"{"@timestamp":"a","@timestamp":"b"}"#), Some(("@timestamp", "\"b\"")));
        assert_eq!(valid(r#"{"@timestamp":"a","@timestamp":null}"#), None);
        assert_eq!(valid(r#"{"x":{"@timestamp":"nested"}}"#), None);
    }

    #[test]
    fn doubtful_or_wrong_lines_are_left_to_serde_json() {
        for text in [
            "",
            "[]",
            "{",
            "{}x",
            r#"{"a":1,}"#,
            r#"{"a" 1}"#,
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":1e400}"#,
            r#"{"a":12345678901234567890}"#,
            r#"{"a":"tab	inside"}"#,
            r#"{"a":"\x"}"#,
            r#"{"a":"\udc00"}"#,
            r#"{"a":"\ud800x"}"#,
            r#"{"\u0040timestamp":"x"}"#,
            r#"{"a":tru}"#,
            "{\"a\":\"\u{0}\"}",
        ] {
            assert_eq!(check_object(text.as_bytes(), 32), Quick::Unsure, "{text:?}");
        }
        assert_eq!(check_object(b"{\"a\":\"\xff\"}", 32), Quick::Unsure);
        assert_eq!(check_object(br#"{"a":[[[1]]]}"#, 3), Quick::Unsure);
        assert!(matches!(check_object(br#"{"a":[[1]]}"#, 3), Quick::Valid(None)));
    }

    /// What serde_json makes of a line: the object, or `None`.
    fn full(text: &[u8]) -> Option<serde_json::Map<String, serde_json::Value>> {
        match serde_json::from_slice(text) {
            Ok(serde_json::Value::Object(map)) => Some(map),
            _ => None,
        }
    }

    fn agrees(text: &[u8]) -> Result<(), proptest::test_runner::TestCaseError> {
        if let Quick::Valid(time) = check_object(text, 32) {
            let map = full(text);
            proptest::prop_assert!(map.is_some(), "said valid, serde_json refuses");
            let map = map.unwrap_or_default();
            let expected = TIME_FIELDS
                .iter()
                .find_map(|key| map.get(*key).filter(|v| !v.is_null()).map(|v| (*key, v.clone())));
            let got = time.map(|(key, raw)| (key, serde_json::from_str(raw).unwrap_or_default()));
            proptest::prop_assert_eq!(got, expected);
        }
        Ok(())
    }

    fn json() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        use serde_json::Value;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            (-1e6f64..1e6).prop_map(Value::from),
            any::<String>().prop_map(Value::String),
            "[@a-z]{0,10}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 40, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::vec(
                    (
                        prop_oneof![
                            Just("@timestamp".to_owned()),
                            Just("date".to_owned()),
                            any::<String>()
                        ],
                        inner
                    ),
                    0..6
                )
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
            ]
        })
    }

    #[test]
    fn plain_utc_times_are_told_apart_from_the_rest() {
        for yes in [
            "\"2026-03-01T12:34:56Z\"",
            "\"2024-02-29T23:59:59.123456789Z\"",
            "\"1970-01-01T00:00:00.5Z\"",
        ] {
            assert!(super::plain_utc_time(yes), "{yes}");
        }
        for no in [
            "\"2026-02-29T12:34:56Z\"",
            "\"2026-04-31T12:34:56Z\"",
            "\"2026-03-01T24:00:00Z\"",
            "\"2026-03-01T12:34:60Z\"",
            "\"2026-03-01T12:34:56.Z\"",
            "\"2026-03-01T12:34:56.1234567890Z\"",
            "\"2026-03-01T12:34:56+01:00\"",
            "\"2026-03-01 12:34:56Z\"",
            "\"2026-3-01T12:34:56Z\"",
            "\"+2026-03-01T12:34:56Z\"",
            "1772366096",
            "\"2026-03-01T12:34:56Z",
        ] {
            assert!(!super::plain_utc_time(no), "{no}");
        }
    }

    proptest::proptest! {
        #[test]
        fn a_plain_utc_time_is_one_the_full_parse_accepts(
            year in 1960u32..3010, month in 0u32..14, day in 0u32..33,
            hour in 0u32..26, minute in 0u32..62, second in 0u32..62,
            fraction in "(\\.[0-9]{0,10})?",
        ) {
            let raw = format!("\"{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{fraction}Z\"");
            if super::plain_utc_time(&raw) {
                proptest::prop_assert!(super::super::parse_raw_time(&raw).is_ok(), "{}", raw);
            }
        }

        #[test]
        fn the_plain_run_ends_at_the_first_byte_to_escape(
            bytes in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::prelude::Just(b'"'),
                    proptest::prelude::Just(b'\\'),
                    0u8..0x21,
                    0x1fu8..0xff,
                ],
                0..40,
            ),
            skip in 0usize..40,
        ) {
            // Mostly plain bytes, so that the stop falls at any place in a word.
            let bytes: Vec<u8> = bytes.iter().enumerate().map(|(i, &b)| if i < skip { b'a' } else { b }).collect();
            let expected = bytes
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                .unwrap_or(bytes.len());
            proptest::prop_assert_eq!(super::plain_run(&bytes), expected);
        }

        #[test]
        fn never_valid_where_serde_json_refuses(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            agrees(&bytes)?;
        }

        #[test]
        fn serialised_objects_agree_and_mutations_too(
            value in json(),
            at in 0usize..400,
            byte in proptest::prelude::any::<u8>(),
        ) {
            let object = match value {
                serde_json::Value::Object(map) => serde_json::Value::Object(map),
                other => serde_json::json!({ "@timestamp": other, "x": [other] }),
            };
            let mut text = serde_json::to_vec(&object).unwrap_or_default();
            agrees(&text)?;
            if !text.is_empty() {
                let at = at % text.len();
                text[at] = byte;
                agrees(&text)?;
                text.truncate(at);
                agrees(&text)?;
            }
        }
    }
}
