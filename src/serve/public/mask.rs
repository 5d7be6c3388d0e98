//! Masking personal data for answers given without an account (办件进度查询): names as 李*,
//! ID numbers as 3201**********1234, phone numbers as 138****5678 — in the fields shown and
//! inside free text (a department's reason may quote the applicant).

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

/// A person's or company's name: its first character, then `*` for the rest (at least one).
pub(crate) fn name(text: &str) -> String {
    let mut chars = text.trim().chars();
    match chars.next() {
        None => String::new(),
        Some(first) => {
            let rest = chars.count().max(1);
            format!("{first}{}", "*".repeat(rest))
        }
    }
}

/// An identifier (ID number, credit code, phone): the first four and last four kept when it
/// is long enough, else the first and last character.
pub(crate) fn number(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len();
    let (head, tail) = match n {
        0 => return String::new(),
        1..=2 => return "*".repeat(n),
        3..=8 => (1, 1),
        9..=11 => (3, 4),
        _ => (4, 4),
    };
    let mut out: String = chars[..head].iter().collect();
    out.push_str(&"*".repeat(n - head - tail));
    out.extend(&chars[n - tail..]);
    out
}

/// 18-character resident ID numbers, 18-character unified credit codes, mainland mobile
/// numbers; bounded by ASCII word boundaries, so `另有110101…` (a Chinese character next to
/// the digits) matches too.
static IDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?-u:\b)(\d{17}[\dXx]|[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}|1[3-9]\d{9})(?-u:\b)",
    )
    .expect("a constant, valid pattern")
});

/// Free text with personal data masked: every text value of the form that appears in it
/// (names as [`name`], longer or numeric ones as [`number`]), then anything shaped like an
/// ID number, credit code or mobile number.
pub(crate) fn text(text: &str, form: &serde_json::Map<String, Value>) -> String {
    let mut values: Vec<&str> = Vec::new();
    form.values().for_each(|v| collect(v, &mut values));
    // Longest first, so a name inside an address is not masked before the address.
    values.sort_by_key(|v| std::cmp::Reverse(v.chars().count()));
    let mut out = text.to_owned();
    for v in values {
        if v.chars().count() < 2 || !out.contains(v) {
            continue;
        }
        let masked = if v.chars().any(|c| c.is_ascii_digit()) || v.chars().count() > 6 {
            number(v)
        } else {
            name(v)
        };
        out = out.replace(v, &masked);
    }
    IDS.replace_all(&out, |c: &regex::Captures<'_>| number(&c[0]))
        .into_owned()
}

fn collect<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) => out.push(s.as_str()),
        Value::Array(a) => a.iter().for_each(|x| collect(x, out)),
        Value::Object(m) => m.values().for_each(|x| collect(x, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn names_and_numbers_are_masked_as_the_issue_shows() {
        assert_eq!(name("李四"), "李*");
        assert_eq!(name("欧阳娜娜"), "欧***");
        assert_eq!(name("王"), "王*");
        assert_eq!(number("32010619900101123X"), "3201**********123X");
        assert_eq!(number("320106199001011234"), "3201**********1234");
        assert_eq!(number("13812345678"), "138****5678");
    }

    #[test]
    fn free_text_loses_the_form_values_and_anything_shaped_like_an_id() {
        let form = json!({
            "operator_name": "王五",
            "partners": [{"name": "李四", "id_no": "32010619900101123X"}],
            "shop_name": "老王面馆"
        });
        let form = form.as_object().cloned().unwrap_or_default();
        let t = text(
            "经核查,合伙人李四(32010619900101123X)与经营者王五信息不符,联系电话13812345678;另有110101199003070011",
            &form,
        );
        for secret in [
            "李四",
            "王五",
            "32010619900101123X",
            "13812345678",
            "110101199003070011",
        ] {
            assert!(!t.contains(secret), "{t}");
        }
        assert!(t.contains("李*") && t.contains("3201**********123X"), "{t}");
    }
}
