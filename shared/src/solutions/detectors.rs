//! Pattern detectors of the redaction action's PII catalogue (part-4 §2.16): structured
//! identifiers found by shape and, where the identifier has one, confirmed by its check
//! digits (Luhn for payment cards and Canadian SINs, ISO 7064 mod 97-10 for IBANs, the
//! 3-7-1 weights of ABA routing numbers, the Dutch "elfproef" for BSNs, mod 97 for Belgian
//! national numbers, the two CPF check digits). Names, organisations and addresses need
//! language understanding: [`PiiType::LANGUAGE`] lists them, [`detect`] ignores them, and
//! only a language model (Amazon Comprehend on AWS, see `crate::ports::PiiDetector`)
//! finds them.
//!
//! Every detector uses the `regex` crate (linear time, no backtracking), so a hostile
//! document cannot make redaction slow.

use regex::Regex;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

/// The identifier types the detectors find.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum PiiType {
    /// E-mail address (general).
    Email,
    /// Web address (general).
    Url,
    /// IPv4 address (general).
    IpAddress,
    /// Phone number (general; international `+` form and Dutch national forms).
    PhoneNumber,
    /// Date (general; `2024-03-01`, `01-03-2024`, `1/3/2024`).
    Date,
    /// Payment card number, Luhn-checked (general "credit card", EU debit card).
    CreditCard,
    /// IBAN, mod-97-checked (general).
    Iban,
    /// SWIFT / BIC code (general).
    SwiftCode,
    /// ABA routing number, checksum-checked (general).
    AbaRoutingNumber,
    /// Dutch citizen service number (BSN), eleven-test-checked.
    NetherlandsBsn,
    /// Belgian national number, mod-97-checked.
    BelgiumNationalNumber,
    /// US social security number (shape and the reserved ranges).
    UsSocialSecurityNumber,
    /// Canadian social insurance number, Luhn-checked.
    CanadaSocialInsuranceNumber,
    /// Brazilian CPF number, check-digit-checked.
    BrazilCpf,
    /// Name of a person (general "Algemeen"); only a language model finds it.
    Person,
    /// Name of an organisation (general "Algemeen"); only a language model finds it.
    Organisation,
    /// Postal address (general "Algemeen"); only a language model finds it.
    Address,
}

impl PiiType {
    /// The types found by pattern (every type the detectors here implement).
    pub const PATTERNS: [PiiType; 14] = [
        PiiType::Email,
        PiiType::Url,
        PiiType::IpAddress,
        PiiType::PhoneNumber,
        PiiType::Date,
        PiiType::CreditCard,
        PiiType::Iban,
        PiiType::SwiftCode,
        PiiType::AbaRoutingNumber,
        PiiType::NetherlandsBsn,
        PiiType::BelgiumNationalNumber,
        PiiType::UsSocialSecurityNumber,
        PiiType::CanadaSocialInsuranceNumber,
        PiiType::BrazilCpf,
    ];

    /// The types only a language model finds (names, organisations, addresses); the
    /// pattern detectors ignore them.
    pub const LANGUAGE: [PiiType; 3] = [PiiType::Person, PiiType::Organisation, PiiType::Address];

    /// Whether the pattern detectors find this type.
    pub fn is_pattern(self) -> bool {
        !PiiType::LANGUAGE.contains(&self)
    }
}

/// Where an identifier was found: byte offsets in the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Found {
    /// What it is.
    pub kind: PiiType,
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).expect("the detector patterns are valid")
}

/// An address; one space either side of the `@` is allowed, as OCR often puts one there.
static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?i)\b[a-z0-9._%+-]+ ?@ ?[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b"));
static URL: LazyLock<Regex> = LazyLock::new(|| regex(r"(?i)\b(?:https?://|www\.)[^\s<>()]+[^\s<>().,;:!?]"));
static IPV4: LazyLock<Regex> = LazyLock::new(|| regex(r"\b(?:\d{1,3}\.){3}\d{1,3}\b"));
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"(?:\+\d{1,3}[ .-]?(?:\(0\))?[ .-]?\d(?:[ .-]?\d){6,11}|\b0\d{1,3}[ -]?\d(?:[ -]?\d){5,7})\b")
});
static DATE: LazyLock<Regex> = LazyLock::new(|| regex(r"\b(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4})\b"));
static CARD: LazyLock<Regex> = LazyLock::new(|| regex(r"\b\d(?:[ -]?\d){12,18}\b"));
static IBAN: LazyLock<Regex> = LazyLock::new(|| regex(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b"));
static SWIFT: LazyLock<Regex> = LazyLock::new(|| regex(r"\b[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?\b"));
static NINE_DIGITS: LazyLock<Regex> = LazyLock::new(|| regex(r"\b\d{9}\b"));
static BSN: LazyLock<Regex> = LazyLock::new(|| regex(r"\b\d{4}\.?\d{2}\.?\d{3}\b|\b\d{9}\b"));
static BELGIUM: LazyLock<Regex> = LazyLock::new(|| regex(r"\b\d{2}\.?\d{2}\.?\d{2}-?\d{3}\.?\d{2}\b"));
static SSN: LazyLock<Regex> = LazyLock::new(|| regex(r"\b(\d{3})-(\d{2})-(\d{4})\b"));
static SIN: LazyLock<Regex> = LazyLock::new(|| regex(r"\b\d{3}[ -]\d{3}[ -]\d{3}\b"));
static CPF: LazyLock<Regex> = LazyLock::new(|| regex(r"\b\d{3}\.\d{3}\.\d{3}-\d{2}\b"));

/// The digits of `text`.
fn digits(text: &str) -> Vec<u32> {
    text.chars().filter_map(|c| c.to_digit(10)).collect()
}

/// The Luhn check (payment cards, Canadian SINs).
pub fn luhn(digits: &[u32]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| if i % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d })
        .sum();
    !digits.is_empty() && sum.is_multiple_of(10)
}

/// ISO 7064 mod 97-10 over an IBAN (spaces ignored).
pub fn iban_valid(text: &str) -> bool {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
    if !(15..=34).contains(&compact.len()) || !compact.chars().all(|c| c.is_ascii_alphanumeric()) {
        return false;
    }
    let rearranged = format!("{}{}", &compact[4..], &compact[..4]);
    let mut remainder: u64 = 0;
    for c in rearranged.chars() {
        let value = c.to_digit(36).unwrap_or(0) as u64;
        remainder = if value >= 10 { (remainder * 100 + value) % 97 } else { (remainder * 10 + value) % 97 };
    }
    remainder == 1
}

/// The 3-7-1 checksum of an ABA routing number.
pub fn aba_valid(digits: &[u32]) -> bool {
    digits.len() == 9
        && digits.iter().zip([3, 7, 1].iter().cycle()).map(|(d, w)| d * w).sum::<u32>() % 10 == 0
        && digits.iter().any(|&d| d != 0)
}

/// The Dutch eleven-test of a BSN.
pub fn bsn_valid(digits: &[u32]) -> bool {
    if digits.len() != 9 || digits.iter().all(|&d| d == 0) {
        return false;
    }
    let sum: i64 =
        digits[..8].iter().enumerate().map(|(i, &d)| (9 - i as i64) * d as i64).sum::<i64>() - digits[8] as i64;
    sum % 11 == 0
}

/// The mod-97 check of a Belgian national number (born before or after 2000).
pub fn belgium_valid(digits: &[u32]) -> bool {
    if digits.len() != 11 {
        return false;
    }
    let number: u64 = digits[..9].iter().fold(0, |n, &d| n * 10 + d as u64);
    let check = (digits[9] * 10 + digits[10]) as u64;
    97 - number % 97 == check || 97 - (2_000_000_000 + number) % 97 == check
}

/// The two check digits of a Brazilian CPF.
pub fn cpf_valid(digits: &[u32]) -> bool {
    if digits.len() != 11 || digits.iter().all(|&d| d == digits[0]) {
        return false;
    }
    let check = |count: usize| {
        let sum: u32 = digits[..count].iter().enumerate().map(|(i, &d)| d * (count as u32 + 1 - i as u32)).sum();
        let rest = sum * 10 % 11;
        if rest == 10 { 0 } else { rest }
    };
    check(9) == digits[9] && check(10) == digits[10]
}

fn ipv4_valid(text: &str) -> bool {
    text.split('.')
        .all(|part| part.parse::<u16>().is_ok_and(|n| n <= 255) && (part.len() == 1 || !part.starts_with('0')))
}

fn ssn_valid(text: &str) -> bool {
    let Some(caps) = SSN.captures(text) else { return false };
    let (area, group, serial) = (&caps[1], &caps[2], &caps[3]);
    area != "000" && area != "666" && !area.starts_with('9') && group != "00" && serial != "0000"
}

/// The longest IBAN at the start of `text`: the whole match, or it without trailing
/// space-separated groups (a following word in capitals is not part of the IBAN).
fn iban_length(text: &str) -> Option<usize> {
    let mut candidate = text;
    loop {
        if iban_valid(candidate) {
            return Some(candidate.len());
        }
        candidate = &candidate[..candidate.rfind(' ')?];
    }
}

/// A pattern and the check its matches must pass.
type Detector = (&'static Regex, fn(&str) -> bool);

/// The detector of one type; `None` for the types only a language model finds.
fn detector(kind: PiiType) -> Option<Detector> {
    let detector: Detector = match kind {
        PiiType::Email => (&EMAIL, |_| true),
        PiiType::Url => (&URL, |_| true),
        PiiType::IpAddress => (&IPV4, ipv4_valid),
        PiiType::PhoneNumber => (&PHONE, |t| digits(t).len() >= 9),
        PiiType::Date => (&DATE, |_| true),
        PiiType::CreditCard => (&CARD, |t| {
            let d = digits(t);
            (13..=19).contains(&d.len()) && luhn(&d)
        }),
        PiiType::Iban => (&IBAN, iban_valid),
        PiiType::SwiftCode => (&SWIFT, |t| t.len() == 8 || t.len() == 11),
        PiiType::AbaRoutingNumber => (&NINE_DIGITS, |t| aba_valid(&digits(t))),
        PiiType::NetherlandsBsn => (&BSN, |t| bsn_valid(&digits(t))),
        PiiType::BelgiumNationalNumber => (&BELGIUM, |t| belgium_valid(&digits(t))),
        PiiType::UsSocialSecurityNumber => (&SSN, ssn_valid),
        PiiType::CanadaSocialInsuranceNumber => (&SIN, |t| luhn(&digits(t))),
        PiiType::BrazilCpf => (&CPF, |t| cpf_valid(&digits(t))),
        PiiType::Person | PiiType::Organisation | PiiType::Address => return None,
    };
    Some(detector)
}

/// Every identifier of the `kinds` in `text`, in order of position. Kinds only a language
/// model finds ([`PiiType::LANGUAGE`]) are ignored.
pub fn detect(text: &str, kinds: &[PiiType]) -> Vec<Found> {
    let mut found = Vec::new();
    for &kind in kinds {
        let Some((pattern, valid)) = detector(kind) else { continue };
        for m in pattern.find_iter(text) {
            if kind == PiiType::Iban {
                found.extend(iban_length(m.as_str()).map(|len| Found { kind, start: m.start(), end: m.start() + len }));
            } else if valid(m.as_str()) {
                found.push(Found { kind, start: m.start(), end: m.end() });
            }
        }
    }
    found.sort_by_key(|f| (f.start, std::cmp::Reverse(f.end)));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Valid examples each type must find and look-alikes it must not (part-4 §2.16).
    const TABLE: &[(PiiType, &[&str], &[&str])] = &[
        (
            PiiType::Email,
            &["jan.jansen@example.nl", "a+b@mail.example.co.uk", "info@ vandijk-advocaten.nl"],
            &["jan@", "@example.nl", "jan at example.nl"],
        ),
        (PiiType::Url, &["https://example.org/a?b=c", "www.printcloud.example"], &["example dot org"]),
        (PiiType::IpAddress, &["192.168.1.10", "8.8.8.8"], &["256.1.1.1", "1.2.3", "01.2.3.4"]),
        (
            PiiType::PhoneNumber,
            &["+31 20 123 4567", "020-1234567", "06-12345678", "+1 415 555 2671"],
            &["12-34", "2024"],
        ),
        (PiiType::Date, &["2024-03-01", "01-03-2024", "1/3/2024"], &["2024", "01-03"]),
        (
            PiiType::CreditCard,
            &["4111 1111 1111 1111", "5500-0000-0000-0004", "378282246310005"],
            &["4111 1111 1111 1112", "1234 5678"],
        ),
        (
            PiiType::Iban,
            &["NL91 ABNA 0417 1643 00", "DE89370400440532013000", "GB29 NWBK 6016 1331 9268 19"],
            &["NL91 ABNA 0417 1643 01", "XX00 1234"],
        ),
        (PiiType::SwiftCode, &["ABNANL2A", "DEUTDEFF500"], &["ABNANL", "abnanl2a"]),
        (PiiType::AbaRoutingNumber, &["011000015", "021000021"], &["011000016", "000000000"]),
        (PiiType::NetherlandsBsn, &["111222333", "1234.56.782"], &["111222334", "000000000"]),
        (PiiType::BelgiumNationalNumber, &["85.07.30-033.28", "17.07.30-033.84"], &["85.07.30-033.29"]),
        (
            PiiType::UsSocialSecurityNumber,
            &["123-45-6789"],
            &["000-45-6789", "666-45-6789", "123-00-6789", "912-45-6789"],
        ),
        (PiiType::CanadaSocialInsuranceNumber, &["046 454 286"], &["046 454 287"]),
        (PiiType::BrazilCpf, &["529.982.247-25"], &["529.982.247-26", "111.111.111-11"]),
    ];

    #[test]
    fn an_iban_followed_by_words_in_capitals_is_found_alone() {
        let text = "Rekening NL91 ABNA 0417 1643 00 TEN NAME VAN JANSEN";
        let found = detect(text, &[PiiType::Iban]);
        assert_eq!(found.len(), 1);
        assert_eq!(&text[found[0].start..found[0].end], "NL91 ABNA 0417 1643 00");
    }

    #[test]
    fn every_detector_finds_valid_identifiers_and_refuses_look_alikes() {
        for (kind, valid, invalid) in TABLE {
            for example in *valid {
                let text = format!("Zie: {example}. Dank.");
                let found = detect(&text, &[*kind]);
                let hit = found.iter().any(|f| &text[f.start..f.end] == *example);
                assert!(hit, "{kind:?} should find {example:?} in {text:?}, found {found:?}");
            }
            for example in *invalid {
                let text = format!("Zie: {example}. Dank.");
                let found = detect(&text, &[*kind]);
                assert!(found.is_empty(), "{kind:?} should not find {example:?}: {found:?}");
            }
        }
        assert_eq!(TABLE.len(), PiiType::PATTERNS.len(), "every pattern type has table rows");
    }

    #[test]
    fn the_pattern_detectors_ignore_the_types_only_a_language_model_finds() {
        let text = "Jan Jansen, Acme B.V., Dorpsstraat 1, 1234 AB Amsterdam, jan@example.nl";
        let found = detect(text, &[PiiType::Person, PiiType::Organisation, PiiType::Address, PiiType::Email]);
        assert_eq!(found.iter().map(|f| f.kind).collect::<Vec<_>>(), vec![PiiType::Email]);
        assert!(PiiType::PATTERNS.iter().all(|kind| kind.is_pattern()));
        assert!(PiiType::LANGUAGE.iter().all(|kind| !kind.is_pattern()));
    }
}
