//! Configured strings that must not be shown as they are: keys, tokens, and URLs that may
//! carry a password.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How a configured string is shown in messages, logs and `cloudhp config`.
pub trait Mask {
    fn mask(value: &str) -> String;
}

/// Shown as `***` (keys, tokens).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hidden;

impl Mask for Hidden {
    fn mask(value: &str) -> String {
        if value.is_empty() {
            String::new()
        } else {
            "***".into()
        }
    }
}

/// Shown with the password of the URL masked (database and transport URLs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UrlPassword;

impl Mask for UrlPassword {
    fn mask(value: &str) -> String {
        cloudhp_store::redact_url(value)
    }
}

/// A configured string that must not be shown as it is: it prints, logs and serialises
/// masked, and only [`Masked::expose`] gives the value.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Masked<M>(String, std::marker::PhantomData<M>);

/// A secret: never printed.
pub type Secret = Masked<Hidden>;
/// A URL that may carry a password: printed with the password masked.
pub type SecretUrl = Masked<UrlPassword>;

impl<M: Mask> Masked<M> {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into(), std::marker::PhantomData)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn masked(&self) -> String {
        M::mask(&self.0)
    }
}

impl<M: Mask> fmt::Debug for Masked<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.masked())
    }
}

impl<M: Mask> fmt::Display for Masked<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl<M: Mask> Serialize for Masked<M> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.masked())
    }
}

impl<'de, M: Mask> Deserialize<'de> for Masked<M> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// Takes any scalar as text: an environment variable holding only digits arrives as
        /// a number, and a password of digits is still a password.
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = String;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<String, E> {
                Ok(v.to_owned())
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<String, E> {
                Ok(v.to_string())
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<String, E> {
                Ok(v.to_string())
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<String, E> {
                Ok(v.to_string())
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<String, E> {
                Ok(v.to_string())
            }
        }
        d.deserialize_any(Text).map(Self::new)
    }
}
