//! Configured strings that must not be shown as they are: keys, tokens, passwords, and URLs
//! that may carry a password. They stay in their masked type from the configuration down to
//! the client that uses them (a store's settings, a bus client), which alone calls
//! [`Masked::expose`]: printing them, with `{:?}` too, shows them masked.

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

/// Shown with the credentials of the URL masked ([`redact_url`]): database, mail and bus URLs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UrlCredentials;

impl Mask for UrlCredentials {
    fn mask(value: &str) -> String {
        redact_url(value)
    }
}

/// `url` with its credentials masked by `***`, for messages, logs and `cloudhp config`: the
/// password, else a user name standing alone, which may be a token (NATS reads
/// `nats://TOKEN@host` so). A user name beside a password is shown, to tell accounts apart.
///
/// When the credentials are not what the URL parser sees (it ends them at the first `/`, `?`
/// or `#`, which a token or a password may hold unencoded), when it refuses the URL, or when
/// there is no scheme, all that stands before the last `@` is masked: better a host hidden
/// than a secret shown.
pub fn redact_url(url: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let ats = url[start..].matches('@').count();
    if ats == 0 {
        return url.to_owned();
    }
    if ats == 1
        && start > 0
        && let Ok(mut parsed) = url::Url::parse(url)
    {
        if parsed.password().is_some() {
            let _ = parsed.set_password(Some("***"));
            return parsed.to_string();
        }
        if !parsed.username().is_empty() {
            let _ = parsed.set_username("***");
            return parsed.to_string();
        }
    }
    match url.rfind('@') {
        Some(at) => format!("{}***{}", &url[..start], &url[at..]),
        None => url.to_owned(),
    }
}

/// A configured string that must not be shown as it is: it prints, logs and serialises
/// masked, and only [`Masked::expose`] gives the value.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Masked<M>(String, std::marker::PhantomData<M>);

/// A secret: never printed.
pub type Secret = Masked<Hidden>;

/// A URL that may carry credentials: printed with them masked.
pub type SecretUrl = Masked<UrlCredentials>;

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

impl<M: Mask> From<String> for Masked<M> {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl<M: Mask> From<&str> for Masked<M> {
    fn from(value: &str) -> Self {
        Self::new(value)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_prints() {
        let secret = Secret::new("hunter2");
        assert_eq!(secret.expose(), "hunter2");
        for shown in [
            format!("{secret}"),
            format!("{secret:?}"),
            serde_json::to_string(&secret).unwrap(),
        ] {
            assert!(!shown.contains("hunter2"), "{shown}");
        }
        assert_eq!(format!("{:?}", Secret::default()), "\"\"");
    }

    #[test]
    fn urls_lose_their_credentials_and_keep_the_rest() {
        for (url, shown) in [
            (
                "mysql://lottery:s3cret@db:3306/lottery",
                "mysql://lottery:***@db:3306/lottery",
            ),
            // A user name alone may be a token, NATS's or a mail relay's API key.
            ("nats://s3cr3tT0ken@nats:4222", "nats://***@nats:4222"),
            (
                "smtp://apikey@smtp.example:587",
                "smtp://***@smtp.example:587",
            ),
            ("redis://:pw@h", "redis://:***@h"),
            // Credentials that break URL parsing, or that the parser cuts short at a `/`,
            // `?` or `#` (it would read part of them as the host or the path), are masked
            // all the same.
            ("mysql://lottery:pa#ss@db/lottery", "mysql://***@db/lottery"),
            ("smtp://u:pa/ss@host:587", "smtp://***@host:587"),
            ("nats://ab/cd@nats:4222", "nats://***@nats:4222"),
            ("nats://tok#en@nats:4222", "nats://***@nats:4222"),
            ("nats://abc?d@nats:4222", "nats://***@nats:4222"),
            ("nats://u:12/x@nats:4222", "nats://***@nats:4222"),
            ("mysql://u:p@ss/word@db/x", "mysql://***@db/x"),
            // No scheme: what stands before the `@` may be a token all the same.
            ("tok@nats:4222", "***@nats:4222"),
            ("nats://nats:4222", "nats://nats:4222"),
            ("sqlite://./x.db", "sqlite://./x.db"),
            ("/a/path", "/a/path"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
        let url = SecretUrl::new("nats://user:pw@nats:4222");
        assert_eq!(format!("{url:?}"), "\"nats://user:***@nats:4222\"");
        assert_eq!(url.expose(), "nats://user:pw@nats:4222");
    }
}
