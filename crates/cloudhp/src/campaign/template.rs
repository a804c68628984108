//! The campaign mail's templates: one file per language, `campaign.<language>.txt`, its first
//! line `Subject: …`, a blank line, then the body (minijinja syntax). The built-in ones are
//! compiled in from `templates/mail/`; `mailing.templates_dir` may replace or add languages.

use std::collections::BTreeMap;
use std::path::Path;

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

/// The built-in templates, by language. A translation is one more file and one more line here.
const BUILT_IN: &[(&str, &str)] = &[
    ("en", include_str!("../../templates/mail/campaign.en.txt")),
    ("fr", include_str!("../../templates/mail/campaign.fr.txt")),
];

/// The language used when a customer's has no template.
pub const DEFAULT_LANGUAGE: &str = "en";

/// Why a template cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read the mail templates of {dir}")]
    Read {
        dir: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the mail template {name} is not valid")]
    Syntax {
        name: String,
        #[source]
        source: minijinja::Error,
    },
    #[error(
        "the mail template {name} must start with a line `Subject: …` followed by a blank line"
    )]
    Shape { name: String },
    #[error("there is no {DEFAULT_LANGUAGE} mail template (campaign.{DEFAULT_LANGUAGE}.txt)")]
    NoDefault,
}

/// What a template may use.
#[derive(Clone, Debug, Serialize)]
pub struct MailVars {
    pub shop_name: String,
    pub campaign: String,
    pub customer_id: u32,
    pub firstname: String,
    pub lastname: String,
    pub email: String,
    /// The customer's personal link.
    pub link: String,
}

/// A rendered mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub body: String,
}

/// The templates of every language.
pub struct Templates {
    env: Environment<'static>,
    /// Language → template name.
    names: BTreeMap<String, String>,
}

impl Templates {
    /// The built-in templates, then those of `dir` (which replace a built-in one of the same
    /// language). Each is checked by rendering it once with sample values: a mistake shows
    /// before the first mail, not in the middle of the campaign.
    pub fn load(dir: Option<&Path>) -> Result<Self, TemplateError> {
        let mut sources: BTreeMap<String, (String, String)> = BUILT_IN
            .iter()
            .map(|(lang, text)| {
                let name = format!("campaign.{lang}.txt");
                ((*lang).to_owned(), (name, (*text).to_owned()))
            })
            .collect();
        if let Some(dir) = dir {
            let read_err = |source| TemplateError::Read {
                dir: dir.display().to_string(),
                source,
            };
            for entry in std::fs::read_dir(dir).map_err(read_err)? {
                let path = entry.map_err(read_err)?.path();
                let Some(file) = path.file_name().and_then(|n| n.to_str()) else {
                    continue;
                };
                let Some(lang) = file
                    .strip_prefix("campaign.")
                    .and_then(|rest| rest.strip_suffix(".txt"))
                    .filter(|l| !l.is_empty() && !l.contains('.'))
                else {
                    continue;
                };
                let text = std::fs::read_to_string(&path).map_err(read_err)?;
                sources.insert(lang.to_owned(), (path.display().to_string(), text));
            }
        }
        let mut env = Environment::new();
        // A misspelt variable is an error, not an empty string in 20,000 mails.
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // Plain text: nothing is escaped.
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        env.set_keep_trailing_newline(true);
        let mut names = BTreeMap::new();
        for (lang, (name, text)) in sources {
            env.add_template_owned(name.clone(), text)
                .map_err(|source| TemplateError::Syntax {
                    name: name.clone(),
                    source,
                })?;
            names.insert(lang, name);
        }
        if !names.contains_key(DEFAULT_LANGUAGE) {
            return Err(TemplateError::NoDefault);
        }
        let templates = Self { env, names };
        for lang in templates.names.keys() {
            templates.render(lang, &sample())?;
        }
        Ok(templates)
    }

    /// The languages that have a template.
    pub fn languages(&self) -> impl Iterator<Item = &str> {
        self.names.keys().map(String::as_str)
    }

    /// The mail in `language` (the default language when it has no template).
    pub fn render(&self, language: &str, vars: &MailVars) -> Result<Rendered, TemplateError> {
        let name = self
            .names
            .get(language)
            .or_else(|| self.names.get(DEFAULT_LANGUAGE))
            .ok_or(TemplateError::NoDefault)?;
        let syntax = |source| TemplateError::Syntax {
            name: name.clone(),
            source,
        };
        let text = self
            .env
            .get_template(name)
            .map_err(syntax)?
            .render(vars)
            .map_err(syntax)?;
        split(&text).ok_or_else(|| TemplateError::Shape { name: name.clone() })
    }
}

/// `Subject: …`, a blank line, the body.
fn split(text: &str) -> Option<Rendered> {
    let (first, rest) = text.split_once('\n')?;
    let subject = first
        .trim_end_matches('\r')
        .strip_prefix("Subject:")?
        .trim();
    let body = rest
        .strip_prefix("\r\n")
        .or_else(|| rest.strip_prefix('\n'))?;
    if subject.is_empty() {
        return None;
    }
    Some(Rendered {
        subject: subject.to_owned(),
        body: body.to_owned(),
    })
}

fn sample() -> MailVars {
    MailVars {
        shop_name: "Shop".into(),
        campaign: "campaign".into(),
        customer_id: 1,
        firstname: "Zoé".into(),
        lastname: "Martin".into(),
        email: "zoe@example.com".into(),
        link: "https://lottery.example/index.html?id=1&t=x".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_template_names_the_shop_and_carries_the_link() {
        let templates = Templates::load(None).unwrap();
        let mut vars = sample();
        vars.shop_name = "La Boutique".into();
        let mail = templates.render("en", &vars).unwrap();
        assert_eq!(mail.subject, "La Boutique: your personal lottery link");
        assert!(mail.body.contains("Hello Zoé Martin,"), "{}", mail.body);
        assert!(mail.body.contains(&vars.link), "{}", mail.body);
        // A language without a template falls back to the default one.
        assert_eq!(templates.render("xx", &vars).unwrap(), mail);
    }

    #[test]
    fn the_built_in_templates_speak_english_and_french() {
        let templates = Templates::load(None).unwrap();
        let vars = sample();
        let fr = templates.render("fr", &vars).unwrap();
        assert!(
            fr.subject.contains("votre lien personnel"),
            "{}",
            fr.subject
        );
        assert!(
            fr.body.contains("Bonjour") && fr.body.contains(&vars.link),
            "{}",
            fr.body
        );
        let en = templates.render("en", &vars).unwrap();
        assert!(en.body.starts_with("Hello"), "{}", en.body);
        // A language without a template gets the default one.
        assert_eq!(templates.render("de", &vars).unwrap(), en);
    }

    #[test]
    fn a_folder_replaces_and_adds_languages_and_mistakes_show_at_load() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("campaign.fr.txt"),
            "Subject: {{ shop_name }} : votre lien\n\nBonjour {{ firstname }},\n{{ link }}\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a template").unwrap();
        let templates = Templates::load(Some(dir.path())).unwrap();
        assert_eq!(templates.languages().collect::<Vec<_>>(), ["en", "fr"]);
        let mail = templates.render("fr", &sample()).unwrap();
        assert_eq!(mail.subject, "Shop : votre lien");
        assert_eq!(
            mail.body,
            "Bonjour Zoé,\nhttps://lottery.example/index.html?id=1&t=x\n"
        );

        // A misspelt variable, a missing subject line: refused when loading, naming the file.
        std::fs::write(
            dir.path().join("campaign.fr.txt"),
            "Subject: x\n\n{{ lnk }}\n",
        )
        .unwrap();
        let err = Templates::load(Some(dir.path())).err().unwrap();
        assert!(err.to_string().contains("campaign.fr.txt"), "{err}");
        std::fs::write(dir.path().join("campaign.fr.txt"), "Hello {{ link }}\n").unwrap();
        let err = Templates::load(Some(dir.path())).err().unwrap();
        assert!(matches!(err, TemplateError::Shape { .. }), "{err}");
    }
}
