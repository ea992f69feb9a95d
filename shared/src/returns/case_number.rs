//! The human-readable case number of a return: `RMA-1234-5678-9`, eight
//! digits and a Damm check digit.
//!
//! Why a check digit? A case number is read aloud on the phone, typed at a
//! till and copied from an e-mail; a mistyped digit must be refused as "not
//! a case number" instead of opening someone else's case. Why Damm and not
//! Luhn? Damm catches every single-digit error *and* every swap of two
//! adjacent digits (Luhn misses `09` <-> `90`), with one digit and no
//! letters, so the number stays easy to read out.
//!
//! The eight digits are random (not a sequence): a case number in a URL or
//! on a receipt says nothing about how many returns the retailer takes.

use std::fmt;

/// The Damm quasigroup of order 10 (totally anti-symmetric, zero diagonal).
const DAMM: [[u8; 10]; 10] = [
    [0, 3, 1, 7, 5, 9, 8, 6, 4, 2],
    [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
    [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
    [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
    [6, 1, 2, 3, 0, 4, 5, 9, 7, 8],
    [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
    [5, 8, 6, 9, 7, 2, 0, 1, 3, 4],
    [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
    [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
    [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
];

/// Digits before the check digit.
pub const BODY_DIGITS: usize = 8;

/// Why a text is not a case number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseNumberError {
    /// Not `RMA-` and nine digits (dashes and spaces between them optional).
    Shape,
    /// Nine digits whose check digit does not match: a typo.
    CheckDigit,
}

impl fmt::Display for CaseNumberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaseNumberError::Shape => write!(f, "a case number looks like RMA-1234-5678-6"),
            CaseNumberError::CheckDigit => write!(
                f,
                "the case number's check digit does not match: check for a typo"
            ),
        }
    }
}

impl std::error::Error for CaseNumberError {}

/// A case number whose check digit is right.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CaseNumber(String);

impl CaseNumber {
    /// Reads `RMA-1234-5678-9`, `rma 12345678 9` or `123456789`: what people
    /// type. The canonical form is always `RMA-dddd-dddd-d`.
    pub fn parse(raw: &str) -> Result<CaseNumber, CaseNumberError> {
        let trimmed = raw.trim();
        if trimmed.len() > 32 {
            return Err(CaseNumberError::Shape);
        }
        let upper = trimmed.to_ascii_uppercase();
        let rest = upper.strip_prefix("RMA").unwrap_or(&upper);
        let mut digits = Vec::with_capacity(BODY_DIGITS + 1);
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c as u8 - b'0'),
                '-' | ' ' => {}
                _ => return Err(CaseNumberError::Shape),
            }
        }
        if digits.len() != BODY_DIGITS + 1 {
            return Err(CaseNumberError::Shape);
        }
        if damm(&digits) != 0 {
            return Err(CaseNumberError::CheckDigit);
        }
        Ok(CaseNumber::format(&digits))
    }

    /// The case number of an eight-digit body (`body % 10^8` is used), with
    /// its check digit appended.
    pub fn from_body(body: u64) -> CaseNumber {
        let text = format!("{:08}", body % 100_000_000);
        let mut digits: Vec<u8> = text.bytes().map(|b| b - b'0').collect();
        digits.push(damm(&digits));
        CaseNumber::format(&digits)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn format(digits: &[u8]) -> CaseNumber {
        let d: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
        CaseNumber(format!("RMA-{}-{}-{}", &d[0..4], &d[4..8], &d[8..9]))
    }
}

impl fmt::Display for CaseNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for CaseNumber {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// The Damm interim digit of `digits`: the check digit of a body, and 0 for
/// a body followed by its check digit.
fn damm(digits: &[u8]) -> u8 {
    digits
        .iter()
        .fold(0, |interim, &d| DAMM[usize::from(interim)][usize::from(d)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_check_digit_is_the_damm_digit() {
        // The worked example of the Damm algorithm: 572 -> check digit 4.
        assert_eq!(damm(&[5, 7, 2]), 4);
        assert_eq!(damm(&[5, 7, 2, 4]), 0);
        assert_eq!(
            CaseNumber::from_body(12_345_678).as_str(),
            "RMA-1234-5678-6"
        );
    }

    #[test]
    fn case_numbers_are_read_as_people_type_them() {
        let canonical = CaseNumber::from_body(40_070_123);
        let digits: String = canonical
            .as_str()
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        for typed in [
            canonical.as_str().to_owned(),
            canonical.as_str().to_lowercase(),
            digits.clone(),
            format!(" rma {digits} "),
        ] {
            assert_eq!(CaseNumber::parse(&typed), Ok(canonical.clone()), "{typed}");
        }
    }

    #[test]
    fn every_single_digit_typo_is_caught() {
        let number = CaseNumber::from_body(98_765_432);
        let digits: Vec<u8> = number
            .as_str()
            .bytes()
            .filter(u8::is_ascii_digit)
            .map(|b| b - b'0')
            .collect();
        for position in 0..digits.len() {
            for wrong in 0..10 {
                if wrong == digits[position] {
                    continue;
                }
                let mut typo = digits.clone();
                typo[position] = wrong;
                let text: String = typo.iter().map(|d| char::from(b'0' + d)).collect();
                assert_eq!(
                    CaseNumber::parse(&text),
                    Err(CaseNumberError::CheckDigit),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn every_adjacent_swap_is_caught() {
        for body in [10_293_847_u64, 9_000_000, 55_667_788, 12_121_212] {
            let number = CaseNumber::from_body(body);
            let digits: Vec<u8> = number
                .as_str()
                .bytes()
                .filter(u8::is_ascii_digit)
                .map(|b| b - b'0')
                .collect();
            for i in 0..digits.len() - 1 {
                if digits[i] == digits[i + 1] {
                    continue;
                }
                let mut swapped = digits.clone();
                swapped.swap(i, i + 1);
                let text: String = swapped.iter().map(|d| char::from(b'0' + d)).collect();
                assert!(CaseNumber::parse(&text).is_err(), "{text}");
            }
        }
    }

    #[test]
    fn texts_of_the_wrong_shape_are_refused() {
        for bad in [
            "",
            "RMA-",
            "RMA-1234-5678",
            "RMA-1234-5678-90",
            "ORD-1234-5678-2",
            "12345678x",
            &"9".repeat(40),
        ] {
            assert_eq!(CaseNumber::parse(bad), Err(CaseNumberError::Shape), "{bad}");
        }
    }
}
