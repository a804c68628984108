//! The languages of the customer's page and of the mails.
//!
//! Translations live in Fluent files, one folder per language under `locales/` (`en/`, `fr/`),
//! compiled into the binary. A language is chosen for each customer: the language of their
//! shop account (PrestaShop's `id_lang` → `ps_lang.iso_code`), else the first language of the
//! browser's `Accept-Language` that we have, else the configured default. Adding a language is
//! adding a folder: every message of English must be in it (a test checks).

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use fluent_templates::{LanguageIdentifier, Loader, StaticLoader, static_loader};
use time::OffsetDateTime;

pub use fluent_templates::fluent_bundle::FluentValue;

static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        // No Unicode isolation marks around arguments: they would end up in mail headers and
        // in text compared by people and tests.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// A language we have translations for.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Lang(&'static LanguageIdentifier);

impl fmt::Debug for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

fn loader() -> &'static StaticLoader {
    &LOCALES
}

impl Lang {
    /// English, the language every message exists in.
    pub fn english() -> Self {
        Self::parse("en").unwrap_or(Self(loader().fallback()))
    }

    /// Every language we have, English first.
    pub fn all() -> Vec<Lang> {
        let mut all: Vec<Lang> = loader().locales().map(Lang).collect();
        all.sort_by_key(|l| (l.code() != "en", l.code()));
        all
    }

    /// The language of a code (`fr`, `FR`, `fr-CA`, `fr_FR`): its primary language, when we
    /// have it.
    pub fn parse(code: &str) -> Option<Self> {
        let primary = code
            .trim()
            .split(['-', '_'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        if primary.is_empty() {
            return None;
        }
        loader()
            .locales()
            .find(|id| id.language.as_str() == primary)
            .map(Lang)
    }

    /// Its code (`en`, `fr`), for `<html lang>` and the configuration.
    pub fn code(self) -> &'static str {
        self.0.language.as_str()
    }

    /// The message `id` in this language (in English when this language lacks it).
    pub fn t(self, id: &str) -> String {
        loader().lookup(self.0, id)
    }

    /// The message `id` with its arguments.
    pub fn t_with(self, id: &str, args: &[(&'static str, FluentValue<'static>)]) -> String {
        let args: HashMap<Cow<'static, str>, FluentValue<'static>> = args
            .iter()
            .map(|(k, v)| (Cow::Borrowed(*k), v.clone()))
            .collect();
        loader().lookup_with_args(self.0, id, &args)
    }

    /// A date and time as people of this language read it, in UTC: `25 November 2026 at 10:04
    /// UTC`, `25 novembre 2026 à 10:04 UTC`.
    pub fn datetime(self, t: OffsetDateTime) -> String {
        let t = t.to_offset(time::UtcOffset::UTC);
        let time = format!("{:02}:{:02}", t.hour(), t.minute());
        self.dated("datetime", t, &[("time", FluentValue::from(time))])
    }

    /// A date as people of this language read it: `25 November 2026`.
    pub fn date(self, t: OffsetDateTime) -> String {
        self.dated("date", t, &[])
    }

    /// The message `id` with the day, month and year of `t` in UTC, and the arguments `more`.
    fn dated(
        self,
        id: &str,
        t: OffsetDateTime,
        more: &[(&'static str, FluentValue<'static>)],
    ) -> String {
        let t = t.to_offset(time::UtcOffset::UTC);
        let mut args = vec![
            ("day", FluentValue::from(t.day().to_string())),
            ("month", FluentValue::from(self.month(t))),
            ("year", FluentValue::from(t.year().to_string())),
        ];
        args.extend_from_slice(more);
        self.t_with(id, &args)
    }

    fn month(self, t: OffsetDateTime) -> String {
        self.t(&format!("month-{}", u8::from(t.month())))
    }
}

/// The languages of an `Accept-Language` header that we have, most wanted first (by `q`, then
/// by order); `q=0` means "not this one".
pub fn accepted(header: &str) -> Vec<Lang> {
    let mut wanted: Vec<(f32, usize, Lang)> = Vec::new();
    for (i, item) in header.split(',').enumerate() {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or("").trim();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if q <= 0.0 || !q.is_finite() {
            continue;
        }
        if let Some(lang) = Lang::parse(tag)
            && !wanted.iter().any(|(_, _, l)| *l == lang)
        {
            wanted.push((q, i, lang));
        }
    }
    wanted.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    wanted.into_iter().map(|(_, _, lang)| lang).collect()
}

/// The language of a customer's page and mails: their shop account's, else the browser's,
/// else `default`.
pub fn choose(customer: Option<&str>, accept_language: Option<&str>, default: Lang) -> Lang {
    customer
        .and_then(Lang::parse)
        .or_else(|| accept_language.and_then(|h| accepted(h).into_iter().next()))
        .unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn ids(lang: &str) -> BTreeSet<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("locales")
            .join(lang);
        let mut ids = BTreeSet::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            let resource = fluent_syntax::parser::parse(text.as_str())
                .unwrap_or_else(|(_, errors)| panic!("{lang}: {errors:?}"));
            for entry in resource.body {
                if let fluent_syntax::ast::Entry::Message(m) = entry {
                    ids.insert(m.id.name.to_owned());
                }
            }
        }
        ids
    }

    #[test]
    fn every_language_has_every_message_of_english() {
        let english = ids("en");
        assert!(english.len() > 20, "{english:?}");
        for lang in Lang::all() {
            let have = ids(lang.code());
            let missing: Vec<&String> = english.difference(&have).collect();
            let extra: Vec<&String> = have.difference(&english).collect();
            assert!(missing.is_empty(), "{lang} lacks {missing:?}");
            assert!(extra.is_empty(), "{lang} has unknown messages {extra:?}");
        }
    }

    #[test]
    fn french_and_english_at_least() {
        let codes: Vec<&str> = Lang::all().iter().map(|l| l.code()).collect();
        assert_eq!(&codes[..2], ["en", "fr"]);
        assert_eq!(Lang::parse("FR-ca").map(Lang::code), Some("fr"));
        assert_eq!(Lang::parse("fr_FR").map(Lang::code), Some("fr"));
        assert_eq!(Lang::parse("de"), None);
        assert_eq!(Lang::parse(""), None);
    }

    #[test]
    fn the_customer_then_the_browser_then_the_default() {
        let en = Lang::english();
        let fr = Lang::parse("fr").unwrap();
        assert_eq!(choose(Some("fr"), Some("en-GB"), en), fr);
        assert_eq!(
            choose(Some("de"), Some("de-DE, fr;q=0.8, en;q=0.5"), en),
            fr
        );
        assert_eq!(choose(None, Some("en;q=0.2, fr;q=0.9"), en), fr);
        assert_eq!(choose(None, Some("fr;q=0, en"), fr), en);
        assert_eq!(choose(None, Some("de, it"), fr), fr);
        assert_eq!(choose(None, None, fr), fr);
        assert_eq!(choose(None, Some(";;;,q=x,\u{0}"), en), en);
    }

    #[test]
    fn dates_are_written_for_the_language() {
        let t = time::macros::datetime!(2026-11-25 10:04:59 UTC);
        assert_eq!(Lang::english().datetime(t), "25 November 2026 at 10:04 UTC");
        let fr = Lang::parse("fr").unwrap();
        assert_eq!(fr.datetime(t), "25 novembre 2026 à 10:04 UTC");
        assert_eq!(fr.date(t), "25 novembre 2026");
        let paris = t.to_offset(time::macros::offset!(+1));
        assert_eq!(fr.datetime(paris), "25 novembre 2026 à 10:04 UTC");
    }

    #[test]
    fn arguments_are_not_wrapped_in_isolation_marks() {
        let t = time::macros::datetime!(2026-01-02 03:04 UTC);
        assert!(!Lang::english().datetime(t).contains('\u{2068}'));
    }
}
