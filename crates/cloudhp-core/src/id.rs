//! The customer id: parsed once at the edge, trusted everywhere after.

use std::fmt;
use std::num::NonZeroU32;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A PrestaShop customer id: a positive 32-bit unsigned integer.
///
/// The only ways to get one are [`CustomerId::parse`] (text from the outside world) and
/// [`CustomerId::new`] (a number that is already known to be valid), so every function taking a
/// `CustomerId` can rely on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CustomerId(NonZeroU32);

/// Why a text is not a customer id. The messages are written for the person who typed the link.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("the customer id is missing")]
    Missing,
    #[error("the customer id must be a whole number made of digits only")]
    NotANumber,
    #[error("the customer id must be a positive number")]
    Negative,
    #[error("the customer id must be greater than zero")]
    Zero,
    #[error("the customer id must not start with a zero")]
    LeadingZero,
    #[error("the customer id is too large (the largest is 4294967295)")]
    TooLarge,
}

impl CustomerId {
    /// The largest id PrestaShop can hold (`int(10) unsigned`).
    pub const MAX: u32 = u32::MAX;

    /// Wraps a number; `None` for zero.
    pub fn new(value: u32) -> Option<Self> {
        NonZeroU32::new(value).map(Self)
    }

    /// Parses the canonical decimal form: ASCII digits, no sign, no spaces, no leading zero,
    /// between 1 and 4294967295. Anything else is refused with a reason.
    pub fn parse(text: &str) -> Result<Self, IdError> {
        if text.is_empty() {
            return Err(IdError::Missing);
        }
        if let Some(rest) = text.strip_prefix('-')
            && !rest.is_empty()
            && rest.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(if rest.bytes().all(|b| b == b'0') {
                IdError::Zero
            } else {
                IdError::Negative
            });
        }
        if !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdError::NotANumber);
        }
        if text.bytes().all(|b| b == b'0') {
            return Err(IdError::Zero);
        }
        if text.starts_with('0') {
            return Err(IdError::LeadingZero);
        }
        // At most ten digits fit in a u32; checking the length first keeps the parse cheap on
        // very long inputs.
        if text.len() > 10 {
            return Err(IdError::TooLarge);
        }
        let value: u64 = text.parse().map_err(|_| IdError::NotANumber)?;
        let value = u32::try_from(value).map_err(|_| IdError::TooLarge)?;
        Self::new(value).ok_or(IdError::Zero)
    }

    pub fn get(self) -> u32 {
        self.0.get()
    }
}

impl fmt::Display for CustomerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for CustomerId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u32(self.get())
    }
}

impl<'de> Deserialize<'de> for CustomerId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = u32::deserialize(deserializer)?;
        Self::new(value).ok_or_else(|| serde::de::Error::custom("customer id must not be 0"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_canonical_ids() {
        assert_eq!(CustomerId::parse("1").unwrap().get(), 1);
        assert_eq!(CustomerId::parse("42").unwrap().get(), 42);
        assert_eq!(CustomerId::parse("4294967295").unwrap().get(), u32::MAX);
    }

    #[test]
    fn refuses_each_kind_of_bad_id_with_its_reason() {
        let cases = [
            ("", IdError::Missing),
            ("0", IdError::Zero),
            ("000", IdError::Zero),
            ("-0", IdError::Zero),
            ("-5", IdError::Negative),
            ("+5", IdError::NotANumber),
            ("007", IdError::LeadingZero),
            ("4294967296", IdError::TooLarge),
            ("99999999999999999999999", IdError::TooLarge),
            ("12a", IdError::NotANumber),
            (" 12", IdError::NotANumber),
            ("12 ", IdError::NotANumber),
            ("1.5", IdError::NotANumber),
            ("1e3", IdError::NotANumber),
            ("../1", IdError::NotANumber),
            ("1/2", IdError::NotANumber),
            ("٣", IdError::NotANumber),    // Arabic-Indic digit three
            ("１２", IdError::NotANumber), // full-width digits
            ("0x10", IdError::NotANumber),
            ("-", IdError::NotANumber),
        ];
        for (text, expected) in cases {
            assert_eq!(CustomerId::parse(text), Err(expected), "input {text:?}");
        }
    }

    #[test]
    fn serde_refuses_zero() {
        assert!(serde_json::from_str::<CustomerId>("0").is_err());
        assert_eq!(
            serde_json::from_str::<CustomerId>("7").unwrap(),
            CustomerId::new(7).unwrap()
        );
    }

    proptest! {
        #[test]
        fn every_positive_u32_round_trips(n in 1u32..=u32::MAX) {
            let id = CustomerId::parse(&n.to_string()).unwrap();
            prop_assert_eq!(id.get(), n);
            prop_assert_eq!(id.to_string(), n.to_string());
        }

        #[test]
        fn values_beyond_u32_are_too_large(n in (u32::MAX as u64 + 1)..=u64::MAX) {
            prop_assert_eq!(CustomerId::parse(&n.to_string()), Err(IdError::TooLarge));
        }

        #[test]
        fn arbitrary_text_never_panics_and_accepts_only_canonical_numbers(s in "\\PC{0,24}") {
            if let Ok(id) = CustomerId::parse(&s) {
                prop_assert_eq!(id.to_string(), s);
            }
        }

        #[test]
        fn any_non_digit_is_refused(prefix in "[0-9]{0,4}", bad in "[^0-9]", suffix in "[0-9]{0,4}") {
            let text = format!("{prefix}{bad}{suffix}");
            prop_assert!(CustomerId::parse(&text).is_err());
        }
    }

    /// What `parse` must answer, written out plainly (the reference of the fuzz target).
    fn expected(text: &str) -> Result<u32, IdError> {
        let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        let zeros = |t: &str| t.bytes().all(|b| b == b'0');
        if text.is_empty() {
            return Err(IdError::Missing);
        }
        if let Some(rest) = text.strip_prefix('-').filter(|r| digits(r)) {
            return Err(if zeros(rest) {
                IdError::Zero
            } else {
                IdError::Negative
            });
        }
        if !digits(text) {
            Err(IdError::NotANumber)
        } else if zeros(text) {
            Err(IdError::Zero)
        } else if text.starts_with('0') {
            Err(IdError::LeadingZero)
        } else {
            // Arbitrary precision by length: anything longer than ten digits is too large.
            match text.parse::<u32>() {
                Ok(n) => Ok(n),
                Err(_) => Err(IdError::TooLarge),
            }
        }
    }

    // Fuzzing (see docs/fuzzing.md): a fixed number of cases, PROPTEST_CASES raises it.
    proptest! {
        #![proptest_config(ProptestConfig { cases: 100_000, ..ProptestConfig::default() })]

        /// Any string, control characters and any Unicode included, and strings made mostly of
        /// digits, signs and zeros: never a panic, and exactly the reference's answer.
        #[test]
        fn fuzz_any_string_gives_an_id_or_its_reason(
            text in prop_oneof![any::<String>(), "[-+0 ]?[0-9]{0,24}", "-?0*[0-9]{0,12}[^0-9]?"],
        ) {
            let got = CustomerId::parse(&text).map(CustomerId::get);
            prop_assert_eq!(got, expected(&text), "input {:?}", text);
        }

        /// Every valid id goes through text and JSON and comes back the same.
        #[test]
        fn fuzz_valid_ids_round_trip(n in 1u32..) {
            let id = CustomerId::new(n).unwrap();
            prop_assert_eq!(CustomerId::parse(&id.to_string()), Ok(id));
            let json = serde_json::to_string(&id).unwrap();
            prop_assert_eq!(serde_json::from_str::<CustomerId>(&json).unwrap(), id);
        }
    }
}
