//! What the play role knows of the prize catalog (`play.catalog`): which answers of W are
//! limited prizes, which one means "no prize", and what is recorded when a prize is out of
//! stock. W stays a black box: the rules hold for any W, the original included.

use std::path::Path;

use cloudhp_core::Prize;
use cloudhp_store::{Outcome, StockSpec};
use cloudhp_worker::{CatalogError, Fallback, PrizeTable, RgbImage, read_picture};

/// The catalog's rules, read once at start-up.
#[derive(Clone, Debug)]
pub struct PrizeRules {
    table: PrizeTable,
    /// The fallback's picture (beside the catalog file), drawn on the customer's ticket when
    /// the fallback is recorded; `None` for a "no prize" fallback without a picture there.
    fallback_picture: Option<RgbImage>,
}

impl PrizeRules {
    /// Reads the catalog file at `path` and the fallback's picture beside it (required for a
    /// prize fallback; for "no prize", used when present). Blocking file work.
    pub fn load(path: &Path) -> Result<Self, CatalogError> {
        let table = PrizeTable::load(path)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let fallback_picture = match &table.fallback {
            Fallback::Prize(picture) => Some(read_picture(&dir.join(picture))?),
            Fallback::NoPrize => match &table.no_prize_picture {
                Some(picture) if dir.join(picture).is_file() => {
                    Some(read_picture(&dir.join(picture))?)
                }
                _ => None,
            },
        };
        Ok(Self::new(table, fallback_picture))
    }

    pub fn new(table: PrizeTable, fallback_picture: Option<RgbImage>) -> Self {
        Self {
            table,
            fallback_picture,
        }
    }

    /// The rows of `prize_stock` the catalog wants: every prize, its stock.
    pub fn stock(&self) -> Vec<StockSpec> {
        self.table
            .prizes
            .iter()
            .filter_map(|p| {
                Some(StockSpec {
                    prize: Prize::parse(&p.picture)?,
                    name: Some(p.name.clone()),
                    stock: p.stock,
                })
            })
            .collect()
    }

    /// What W's answer `prize` records: "no prize", or a win (named by the catalog).
    pub fn outcome(&self, prize: &Prize) -> Outcome {
        if self.table.is_no_prize(prize.file()) {
            return Outcome::NoPrize {
                picture: Some(prize.clone()),
            };
        }
        Outcome::Won {
            prize: prize.clone(),
            name: self.table.prize(prize.file()).map(|p| p.name.clone()),
        }
    }

    /// What is recorded instead of a prize out of stock, and the picture of the customer's
    /// ticket for it (`None`: no picture, the page says "no prize" only).
    pub fn fallback(&self) -> (Outcome, Option<&RgbImage>) {
        let picture = self.fallback_picture.as_ref();
        let outcome = match &self.table.fallback {
            Fallback::Prize(file) => match Prize::parse(file) {
                Some(prize) => Outcome::Won {
                    name: self.table.prize(file).map(|p| p.name.clone()),
                    prize,
                },
                None => return no_prize_fallback(),
            },
            Fallback::NoPrize => Outcome::NoPrize {
                picture: picture
                    .and(self.table.no_prize_picture.as_deref())
                    .and_then(Prize::parse),
            },
        };
        (outcome, picture)
    }
}

/// The fallback without a catalog: "no prize", no picture.
pub fn no_prize_fallback() -> (Outcome, Option<&'static RgbImage>) {
    (Outcome::NoPrize { picture: None }, None)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn rules(text: &str) -> PrizeRules {
        PrizeRules::new(
            PrizeTable::parse(text, Path::new("catalog.toml")).unwrap(),
            None,
        )
    }

    fn prize(file: &str) -> Prize {
        Prize::parse(file).unwrap()
    }

    #[test]
    fn w_answers_are_told_apart_by_the_catalog() {
        let rules = rules(
            "[no_prize]\nweight=5\npicture='none.jpg'\n\
             [[prize]]\nname='Drone'\npicture='drone.jpg'\nweight=1\nstock=3\n",
        );
        assert_eq!(
            rules.outcome(&prize("none.jpg")),
            Outcome::NoPrize {
                picture: Some(prize("none.jpg"))
            }
        );
        assert_eq!(
            rules.outcome(&prize("drone.jpg")),
            Outcome::Won {
                prize: prize("drone.jpg"),
                name: Some("Drone".into())
            }
        );
        // A prize the catalog does not list (another W's) is a win, unnamed.
        assert_eq!(
            rules.outcome(&prize("kite.jpg")),
            Outcome::Won {
                prize: prize("kite.jpg"),
                name: None
            }
        );
        let stock = rules.stock();
        assert_eq!(stock.len(), 1);
        assert_eq!(stock[0].stock, Some(3));
        // Without its picture at hand, the fallback is "no prize" without a picture.
        assert_eq!(rules.fallback().0, Outcome::NoPrize { picture: None });
    }

    #[test]
    fn a_prize_fallback_is_that_prize_with_its_picture() {
        let dir = tempfile::tempdir().unwrap();
        cloudhp_worker::Catalog::demo()
            .write_dir(dir.path())
            .unwrap();
        let file = dir.path().join("catalog.toml");
        std::fs::write(
            &file,
            "fallback='usb-key.jpg'\n[[prize]]\nname='Key'\npicture='usb-key.jpg'\nweight=1\n\
             [[prize]]\nname='Drone'\npicture='drone.jpg'\nweight=1\nstock=1\n",
        )
        .unwrap();
        let rules = PrizeRules::load(&file).unwrap();
        let (outcome, picture) = rules.fallback();
        assert_eq!(
            outcome,
            Outcome::Won {
                prize: prize("usb-key.jpg"),
                name: Some("Key".into())
            }
        );
        assert!(picture.is_some());
        // Its picture missing beside the file: refused at start-up, by name.
        std::fs::remove_file(dir.path().join("usb-key.jpg")).unwrap();
        let err = PrizeRules::load(&file).unwrap_err().to_string();
        assert!(err.contains("usb-key.jpg"), "{err}");
    }
}
