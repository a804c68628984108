//! The prize catalog file (`catalog.toml`): each prize's name, picture, odds and stock, the
//! "no prize" outcome, and the fallback recorded when a prize is out of stock.
//!
//! Our W draws by its weights; the play role reads it to enforce stock and tell "no prize"
//! from a win, whatever W answered (W knows nothing of stock). See `prizes.example.toml`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The name of the catalog file in a catalog folder.
pub const CATALOG_FILE: &str = "catalog.toml";

/// The demo catalog file: realistic odds, a few limited prizes (`prizes.example.toml`).
pub const DEMO_CATALOG: &str = include_str!("../../../prizes.example.toml");

/// The value of `fallback` naming the "no prize" outcome.
pub const NO_PRIZE: &str = "no_prize";

/// The largest weight of one outcome (keeps the sum of weights far from overflowing).
pub const MAX_WEIGHT: u32 = 1_000_000_000;

#[derive(Debug, thiserror::Error)]
pub enum OddsError {
    #[error("cannot read the prize catalog file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the prize catalog file {path} is not valid: {message}")]
    Invalid { path: PathBuf, message: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    #[serde(default)]
    fallback: Option<String>,
    #[serde(default)]
    no_prize: Option<NoPrizeSpec>,
    #[serde(default, rename = "prize")]
    prizes: Vec<PrizeSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoPrizeSpec {
    #[serde(default)]
    weight: u32,
    #[serde(default)]
    picture: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PrizeSpec {
    name: String,
    picture: String,
    weight: u32,
    #[serde(default)]
    stock: Option<u64>,
}

/// One prize of the catalog file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrizeEntry {
    /// For people.
    pub name: String,
    /// The JPEG in the catalog folder, and the name W answers.
    pub picture: String,
    pub weight: u32,
    /// `None`: unlimited.
    pub stock: Option<u64>,
}

/// What a draw records when W answers a prize whose stock is used up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fallback {
    /// "No prize" (the default).
    NoPrize,
    /// An unlimited prize of the catalog, by picture.
    Prize(String),
}

/// A validated catalog file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrizeTable {
    pub prizes: Vec<PrizeEntry>,
    /// The weight of "no prize" (0: our W never draws it).
    pub no_prize_weight: u32,
    /// The picture W answers for "no prize".
    pub no_prize_picture: Option<String>,
    pub fallback: Fallback,
}

impl PrizeTable {
    /// Reads and checks the catalog file at `path`.
    pub fn load(path: &Path) -> Result<Self, OddsError> {
        let text = std::fs::read_to_string(path).map_err(|source| OddsError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// The demo catalog's table.
    pub fn demo() -> Self {
        Self::parse(DEMO_CATALOG, Path::new(CATALOG_FILE)).expect("the demo catalog is valid")
    }

    /// Parses and checks a catalog file's text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, OddsError> {
        let invalid = |message: String| OddsError::Invalid {
            path: path.to_owned(),
            message,
        };
        let spec: FileSpec = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let mut seen: Vec<&str> = Vec::new();
        let mut total: u64 = 0;
        for prize in &spec.prizes {
            check_picture(&prize.picture).map_err(&invalid)?;
            if prize.name.trim().is_empty() || prize.name.chars().any(char::is_control) {
                return Err(invalid(format!(
                    "prize `{}`: its name must be a non-empty line",
                    prize.picture
                )));
            }
            if prize.weight > MAX_WEIGHT {
                return Err(invalid(format!(
                    "prize `{}`: weight must be at most {MAX_WEIGHT}",
                    prize.picture
                )));
            }
            if seen.contains(&prize.picture.as_str()) {
                return Err(invalid(format!(
                    "prize `{}` is listed twice",
                    prize.picture
                )));
            }
            seen.push(&prize.picture);
            total += u64::from(prize.weight);
        }
        let (no_prize_weight, no_prize_picture) = match spec.no_prize {
            Some(n) => (n.weight, n.picture),
            None => (0, None),
        };
        if no_prize_weight > MAX_WEIGHT {
            return Err(invalid(format!(
                "no_prize: weight must be at most {MAX_WEIGHT}"
            )));
        }
        match &no_prize_picture {
            Some(picture) => {
                check_picture(picture).map_err(&invalid)?;
                if seen.contains(&picture.as_str()) {
                    return Err(invalid(format!(
                        "no_prize: picture `{picture}` is also a prize"
                    )));
                }
            }
            None if no_prize_weight > 0 => {
                return Err(invalid(
                    "no_prize: a weight above 0 needs a picture (W answers it)".into(),
                ));
            }
            None => {}
        }
        total += u64::from(no_prize_weight);
        if total == 0 {
            return Err(invalid(
                "no outcome can be drawn: give a prize or no_prize a weight above 0".into(),
            ));
        }
        let fallback = match spec.fallback.as_deref() {
            None | Some(NO_PRIZE) => Fallback::NoPrize,
            Some(picture) => match spec.prizes.iter().find(|p| p.picture == picture) {
                Some(p) if p.stock.is_none() => Fallback::Prize(picture.to_owned()),
                Some(_) => {
                    return Err(invalid(format!(
                        "fallback `{picture}` has a stock: the fallback must be unlimited"
                    )));
                }
                None => {
                    return Err(invalid(format!(
                        "fallback `{picture}` is neither \"{NO_PRIZE}\" nor the picture of a \
                         prize"
                    )));
                }
            },
        };
        Ok(Self {
            prizes: spec
                .prizes
                .into_iter()
                .map(|p| PrizeEntry {
                    name: p.name.trim().to_owned(),
                    picture: p.picture,
                    weight: p.weight,
                    stock: p.stock,
                })
                .collect(),
            no_prize_weight,
            no_prize_picture,
            fallback,
        })
    }

    /// The prize W names `picture`.
    pub fn prize(&self, picture: &str) -> Option<&PrizeEntry> {
        self.prizes.iter().find(|p| p.picture == picture)
    }

    /// Whether W's answer `picture` means "no prize".
    pub fn is_no_prize(&self, picture: &str) -> bool {
        self.no_prize_picture.as_deref() == Some(picture)
    }
}

/// A picture name: a plain file name (no folder, not hidden, no control character).
fn check_picture(picture: &str) -> Result<(), String> {
    let ok = !picture.is_empty()
        && picture.len() <= 128
        && !picture.starts_with('.')
        && !picture
            .chars()
            .any(|c| c.is_control() || c == '/' || c == '\\');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "picture `{picture}` must be a plain file name of the catalog folder"
        ))
    }
}

/// Index of the outcome a roll in `0..sum of weights` lands on; `None` when the roll is past
/// the sum (or every weight is 0).
pub fn weighted_index(weights: &[u32], roll: u64) -> Option<usize> {
    let mut upto = 0u64;
    for (i, w) in weights.iter().enumerate() {
        upto += u64::from(*w);
        if roll < upto {
            return Some(i);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<PrizeTable, OddsError> {
        PrizeTable::parse(text, Path::new("catalog.toml"))
    }

    #[test]
    fn the_demo_catalog_has_realistic_odds_and_limited_prizes() {
        let table = PrizeTable::demo();
        assert_eq!(table.fallback, Fallback::NoPrize);
        assert_eq!(table.no_prize_picture.as_deref(), Some("no-prize.jpg"));
        let total: u32 = table.prizes.iter().map(|p| p.weight).sum::<u32>() + table.no_prize_weight;
        // Most draws win nothing; a few prizes are limited.
        assert!(table.no_prize_weight * 2 > total);
        assert!(table.prizes.iter().filter(|p| p.stock.is_some()).count() >= 3);
        assert_eq!(table.prize("drone.jpg").unwrap().stock, Some(5));
        assert!(table.is_no_prize("no-prize.jpg"));
        assert!(!table.is_no_prize("drone.jpg"));
    }

    #[test]
    fn weights_pick_by_cumulative_ranges() {
        let weights = [3, 0, 1];
        let picks: Vec<_> = (0..5).map(|r| weighted_index(&weights, r)).collect();
        assert_eq!(picks, [Some(0), Some(0), Some(0), Some(2), None]);
        assert_eq!(weighted_index(&[0, 0], 0), None);
    }

    #[test]
    fn bad_catalogs_say_what_is_wrong() {
        let cases = [
            (
                "[[prize]]\nname='A'\npicture='a.jpg'\nweight=0\n",
                "no outcome",
            ),
            (
                "[[prize]]\nname='A'\npicture='../a.jpg'\nweight=1\n",
                "plain file name",
            ),
            (
                "[[prize]]\nname='A'\npicture='a.jpg'\nweight=1\n[[prize]]\nname='B'\n\
                 picture='a.jpg'\nweight=1\n",
                "listed twice",
            ),
            ("[no_prize]\nweight=5\n", "needs a picture"),
            (
                "fallback='a.jpg'\n[[prize]]\nname='A'\npicture='a.jpg'\nweight=1\nstock=3\n",
                "must be unlimited",
            ),
            (
                "fallback='zz.jpg'\n[[prize]]\nname='A'\npicture='a.jpg'\nweight=1\n",
                "neither",
            ),
            (
                "[[prize]]\nname='A'\npicture='a.jpg'\nweight=1\nodds=3\n",
                "odds",
            ),
            (
                "[[prize]]\nname='A'\npicture='a.jpg'\nweight=-1\n",
                "weight",
            ),
        ];
        for (text, expected) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{text}: {err}");
            assert!(err.contains("catalog.toml"), "{err}");
        }
    }

    #[test]
    fn a_prize_fallback_and_a_catalog_without_no_prize_parse() {
        let table = parse(
            "fallback='b.jpg'\n[[prize]]\nname=' A '\npicture='a.jpg'\nweight=1\nstock=2\n\
             [[prize]]\nname='B'\npicture='b.jpg'\nweight=3\n",
        )
        .unwrap();
        assert_eq!(table.fallback, Fallback::Prize("b.jpg".into()));
        assert_eq!(table.no_prize_weight, 0);
        assert_eq!(table.no_prize_picture, None);
        assert_eq!(table.prize("a.jpg").unwrap().name, "A");
    }
}
