//! The prize catalog: the pictures W draws from.
//!
//! A catalog is a folder of JPEG files, one per prize, the file name being the prize name W
//! answers (`usb-key.jpg`), as with the original W: all equally likely. With a catalog file
//! (`catalog.toml`, see [`crate::odds`]) beside them, the pictures it lists are drawn by its
//! weights instead, "no prize" included. When the folder is empty the program paints its own
//! demo pictures into it, so no third-party picture is needed anywhere.

use std::path::{Path, PathBuf};

use image::{ImageFormat, Rgb, RgbImage};

use crate::draw::{draw_text_centred, fill_rect, fill_ring};
use crate::odds::{CATALOG_FILE, DEMO_CATALOG, OddsError, PrizeTable, weighted_index};

/// Size of the generated demo pictures.
pub const DEMO_WIDTH: u32 = 480;
pub const DEMO_HEIGHT: u32 = 320;

/// Largest picture accepted in a catalog folder, in pixels (keeps rendering cheap and bounded).
const MAX_PIXELS: u64 = 4096 * 4096;

/// One outcome: the name W answers, its picture, and its odds.
#[derive(Clone, Debug)]
pub struct CatalogPrize {
    pub file: String,
    pub image: RgbImage,
    /// Its odds against the others' (1 each without a catalog file).
    pub weight: u32,
}

/// The outcomes a worker draws from, by their weights.
#[derive(Clone, Debug)]
pub struct Catalog {
    prizes: Vec<CatalogPrize>,
    /// The catalog file it was read from, if any.
    table: Option<PrizeTable>,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("cannot read the prize catalog folder {path}")]
    ReadDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the prize catalog folder {path}")]
    WriteDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("prize picture {path} is not a readable JPEG")]
    Decode {
        path: PathBuf,
        #[source]
        source: image::ImageError,
    },
    #[error("prize picture {path} is too large ({width}×{height} pixels)")]
    TooLarge {
        path: PathBuf,
        width: u32,
        height: u32,
    },
    #[error(transparent)]
    File(#[from] OddsError),
    #[error("the prize catalog file names picture {file}, which is not in {dir}")]
    MissingPicture { file: String, dir: PathBuf },
    #[error("cannot encode prize picture {file}")]
    Encode {
        file: String,
        #[source]
        source: image::ImageError,
    },
}

/// What a demo prize looks like: its name, colours and a few shapes.
struct DemoPrize {
    file: &'static str,
    label: &'static str,
    top: [u8; 3],
    bottom: [u8; 3],
    shapes: &'static [Shape],
}

#[derive(Clone, Copy)]
enum Shape {
    Rect(i64, i64, u32, u32, [u8; 3]),
    Disc(i64, i64, u32, [u8; 3]),
    Ring(i64, i64, u32, u32, [u8; 3]),
    Arch(i64, i64, u32, u32, [u8; 3]),
}

const INK: [u8; 3] = [40, 44, 52];
const WHITE: [u8; 3] = [250, 250, 250];
const SILVER: [u8; 3] = [200, 204, 212];
const GOLD: [u8; 3] = [232, 185, 35];

const DEMO: &[DemoPrize] = &[
    DemoPrize {
        file: "usb-key.jpg",
        label: "USB KEY",
        top: [70, 130, 180],
        bottom: [176, 214, 240],
        shapes: &[
            Shape::Rect(160, 100, 150, 70, INK),
            Shape::Rect(310, 115, 50, 40, SILVER),
            Shape::Rect(325, 125, 10, 8, INK),
            Shape::Rect(340, 125, 10, 8, INK),
            Shape::Disc(185, 135, 10, SILVER),
        ],
    },
    DemoPrize {
        file: "headphones.jpg",
        label: "HEADPHONES",
        top: [128, 0, 64],
        bottom: [240, 170, 200],
        shapes: &[
            Shape::Arch(240, 170, 100, 82, INK),
            Shape::Rect(125, 150, 40, 80, INK),
            Shape::Rect(315, 150, 40, 80, INK),
            Shape::Rect(133, 160, 24, 60, SILVER),
            Shape::Rect(323, 160, 24, 60, SILVER),
        ],
    },
    DemoPrize {
        file: "smartwatch.jpg",
        label: "SMARTWATCH",
        top: [0, 100, 80],
        bottom: [160, 230, 200],
        shapes: &[
            Shape::Rect(210, 30, 60, 200, INK),
            Shape::Disc(240, 130, 62, SILVER),
            Shape::Disc(240, 130, 52, INK),
            Shape::Rect(238, 90, 4, 42, WHITE),
            Shape::Rect(240, 128, 30, 4, WHITE),
        ],
    },
    DemoPrize {
        file: "tablet.jpg",
        label: "TABLET",
        top: [50, 50, 90],
        bottom: [170, 170, 220],
        shapes: &[
            Shape::Rect(150, 40, 180, 200, INK),
            Shape::Rect(162, 55, 156, 160, [120, 190, 250]),
            Shape::Disc(240, 228, 6, SILVER),
        ],
    },
    DemoPrize {
        file: "camera.jpg",
        label: "CAMERA",
        top: [90, 60, 30],
        bottom: [230, 200, 160],
        shapes: &[
            Shape::Rect(140, 90, 200, 130, INK),
            Shape::Rect(170, 70, 60, 25, INK),
            Shape::Disc(240, 155, 50, SILVER),
            Shape::Disc(240, 155, 36, INK),
            Shape::Disc(228, 143, 8, WHITE),
            Shape::Disc(315, 105, 8, [220, 60, 60]),
        ],
    },
    DemoPrize {
        file: "speaker.jpg",
        label: "SPEAKER",
        top: [20, 20, 20],
        bottom: [120, 120, 130],
        shapes: &[
            Shape::Rect(180, 40, 120, 195, SILVER),
            Shape::Ring(240, 90, 30, 14, INK),
            Shape::Ring(240, 175, 45, 20, INK),
        ],
    },
    DemoPrize {
        file: "drone.jpg",
        label: "DRONE",
        top: [30, 110, 200],
        bottom: [200, 230, 255],
        shapes: &[
            Shape::Rect(150, 125, 180, 14, INK),
            Shape::Rect(233, 60, 14, 150, INK),
            Shape::Ring(150, 132, 34, 28, INK),
            Shape::Ring(330, 132, 34, 28, INK),
            Shape::Ring(240, 60, 34, 28, INK),
            Shape::Ring(240, 205, 34, 28, INK),
            Shape::Disc(240, 132, 24, [220, 60, 60]),
        ],
    },
    DemoPrize {
        file: "e-reader.jpg",
        label: "E-READER",
        top: [60, 60, 60],
        bottom: [210, 210, 200],
        shapes: &[
            Shape::Rect(165, 35, 150, 205, INK),
            Shape::Rect(177, 50, 126, 165, [235, 232, 220]),
            Shape::Rect(190, 70, 100, 6, SILVER),
            Shape::Rect(190, 90, 100, 6, SILVER),
            Shape::Rect(190, 110, 80, 6, SILVER),
            Shape::Rect(190, 130, 100, 6, SILVER),
        ],
    },
    DemoPrize {
        file: "gift-card.jpg",
        label: "GIFT CARD",
        top: [160, 20, 40],
        bottom: [250, 180, 150],
        shapes: &[
            Shape::Rect(120, 70, 240, 150, WHITE),
            Shape::Rect(225, 70, 30, 150, GOLD),
            Shape::Rect(120, 130, 240, 30, GOLD),
            Shape::Ring(215, 120, 22, 12, GOLD),
            Shape::Ring(265, 120, 22, 12, GOLD),
        ],
    },
    DemoPrize {
        file: "backpack.jpg",
        label: "BACKPACK",
        top: [40, 80, 40],
        bottom: [180, 220, 150],
        shapes: &[
            Shape::Arch(240, 80, 40, 28, INK),
            Shape::Rect(170, 75, 140, 165, [60, 90, 60]),
            Shape::Rect(190, 160, 100, 60, [90, 130, 90]),
            Shape::Rect(190, 160, 100, 6, INK),
        ],
    },
];

/// The picture of the demo catalog's "no prize".
const DEMO_NO_PRIZE: DemoPrize = DemoPrize {
    file: "no-prize.jpg",
    label: "NO PRIZE",
    top: [110, 110, 120],
    bottom: [225, 225, 230],
    shapes: &[
        Shape::Ring(240, 130, 80, 62, [200, 70, 70]),
        Shape::Rect(170, 122, 140, 16, [200, 70, 70]),
    ],
};

impl DemoPrize {
    fn paint(&self) -> RgbImage {
        let (w, h) = (DEMO_WIDTH, DEMO_HEIGHT);
        let mut img = RgbImage::from_fn(w, h, |_, y| {
            let t = y as f32 / (h - 1) as f32;
            let mix = |a: u8, b: u8| (f32::from(a) + (f32::from(b) - f32::from(a)) * t) as u8;
            Rgb([
                mix(self.top[0], self.bottom[0]),
                mix(self.top[1], self.bottom[1]),
                mix(self.top[2], self.bottom[2]),
            ])
        });
        for shape in self.shapes {
            match *shape {
                Shape::Rect(x, y, sw, sh, c) => fill_rect(&mut img, x, y, sw, sh, Rgb(c)),
                Shape::Disc(x, y, r, c) => fill_ring(&mut img, x, y, r, 0, false, Rgb(c)),
                Shape::Ring(x, y, r, i, c) => fill_ring(&mut img, x, y, r, i, false, Rgb(c)),
                Shape::Arch(x, y, r, i, c) => fill_ring(&mut img, x, y, r, i, true, Rgb(c)),
            }
        }
        fill_rect(&mut img, 0, 252, w, 52, Rgb(WHITE));
        draw_text_centred(&mut img, 262, self.label, 4, 10, Rgb(INK));
        img
    }
}

impl Catalog {
    /// The built-in demo pictures, painted in memory (ten prizes, equally likely).
    pub fn demo() -> Self {
        Self {
            prizes: DEMO
                .iter()
                .map(|p| CatalogPrize {
                    file: p.file.to_owned(),
                    image: p.paint(),
                    weight: 1,
                })
                .collect(),
            table: None,
        }
    }

    /// The demo catalog with its catalog file: realistic odds, a few limited prizes, and a
    /// "no prize" picture ([`DEMO_CATALOG`]).
    pub fn demo_with_odds() -> Self {
        let table = PrizeTable::demo();
        let painted: Vec<&DemoPrize> = DEMO.iter().chain([&DEMO_NO_PRIZE]).collect();
        let image = |file: &str| {
            painted
                .iter()
                .find(|p| p.file == file)
                .map(|p| p.paint())
                .expect("every picture of the demo catalog file is painted")
        };
        Self::from_table(table, image)
    }

    /// The outcomes of `table`, their pictures given by `image`.
    fn from_table(table: PrizeTable, mut image: impl FnMut(&str) -> RgbImage) -> Self {
        let mut prizes: Vec<CatalogPrize> = table
            .prizes
            .iter()
            .map(|p| CatalogPrize {
                file: p.picture.clone(),
                image: image(&p.picture),
                weight: p.weight,
            })
            .collect();
        if let Some(picture) = &table.no_prize_picture {
            prizes.push(CatalogPrize {
                file: picture.clone(),
                image: image(picture),
                weight: table.no_prize_weight,
            });
        }
        Self {
            prizes,
            table: Some(table),
        }
    }

    /// Reads the catalog of `dir`: with a catalog file (`catalog.toml`), the pictures it lists,
    /// drawn by its weights; else every `*.jpg` / `*.jpeg` of `dir` (sorted by name), equally
    /// likely. An empty folder gives an empty catalog.
    pub fn load_dir(dir: &Path) -> Result<Self, CatalogError> {
        let file = dir.join(CATALOG_FILE);
        if file.is_file() {
            let table = PrizeTable::load(&file)?;
            let mut failed = None;
            let catalog = Self::from_table(table, |picture| {
                match load_picture(dir, &dir.join(picture)) {
                    Ok(image) => image,
                    Err(e) => {
                        failed.get_or_insert(e);
                        RgbImage::new(1, 1)
                    }
                }
            });
            return match failed {
                Some(e) => Err(e),
                None => Ok(catalog),
            };
        }
        Self::load_pictures(dir)
    }

    /// Every JPEG of `dir`, equally likely.
    fn load_pictures(dir: &Path) -> Result<Self, CatalogError> {
        let read_err = |source| CatalogError::ReadDir {
            path: dir.to_owned(),
            source,
        };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(read_err)? {
            let path = entry.map_err(read_err)?.path();
            let is_jpeg = path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("jpg") || e.eq_ignore_ascii_case("jpeg"));
            if is_jpeg && path.is_file() {
                files.push(path);
            }
        }
        files.sort();
        let mut prizes = Vec::with_capacity(files.len());
        for path in files {
            let image = load_picture(dir, &path)?;
            let file = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("prize.jpg")
                .to_owned();
            prizes.push(CatalogPrize {
                file,
                image,
                weight: 1,
            });
        }
        Ok(Self {
            prizes,
            table: None,
        })
    }

    /// Writes the demo catalog with odds into `dir`: its pictures and its catalog file
    /// ([`DEMO_CATALOG`]), replacing the files of the same names.
    pub fn write_demo_dir(dir: &Path) -> Result<Self, CatalogError> {
        let demo = Self::demo_with_odds();
        demo.write_dir(dir)?;
        write_atomically(dir, CATALOG_FILE, DEMO_CATALOG.as_bytes())?;
        Ok(demo)
    }

    /// The catalog file the catalog was read from, if any.
    pub fn table(&self) -> Option<&PrizeTable> {
        self.table.as_ref()
    }

    /// Loads the catalog of `dir`; when the folder is missing or holds no picture, paints the
    /// demo pictures into it first (equally likely, no catalog file: as the original W).
    pub fn open_or_create(dir: &Path) -> Result<Self, CatalogError> {
        if dir.is_dir() {
            let found = Self::load_dir(dir)?;
            if !found.is_empty() {
                return Ok(found);
            }
        }
        let demo = Self::demo();
        demo.write_dir(dir)?;
        Ok(demo)
    }

    /// Saves every prize picture as a JPEG file in `dir` (created when missing).
    pub fn write_dir(&self, dir: &Path) -> Result<(), CatalogError> {
        let write_err = |source| CatalogError::WriteDir {
            path: dir.to_owned(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(write_err)?;
        for prize in &self.prizes {
            let jpeg = crate::encode_jpeg(&prize.image).map_err(|source| CatalogError::Encode {
                file: prize.file.clone(),
                source,
            })?;
            write_atomically(dir, &prize.file, &jpeg)?;
        }
        Ok(())
    }

    pub fn prizes(&self) -> &[CatalogPrize] {
        &self.prizes
    }

    pub fn len(&self) -> usize {
        self.prizes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.prizes.is_empty()
    }

    /// One outcome drawn at random by the weights (uniformly without a catalog file, as the
    /// original W does). `None` when nothing can be drawn.
    pub fn pick(&self) -> Option<&CatalogPrize> {
        let total = self.total_weight();
        if total == 0 {
            return None;
        }
        self.pick_with(rand::random_range(0..total))
    }

    /// The sum of the weights.
    pub fn total_weight(&self) -> u64 {
        self.prizes.iter().map(|p| u64::from(p.weight)).sum()
    }

    /// The outcome a roll in `0..total_weight()` lands on.
    pub fn pick_with(&self, roll: u64) -> Option<&CatalogPrize> {
        let weights: Vec<u32> = self.prizes.iter().map(|p| p.weight).collect();
        weighted_index(&weights, roll).map(|i| &self.prizes[i])
    }
}

/// Reads one picture of a catalog folder.
pub fn read_picture(path: &Path) -> Result<RgbImage, CatalogError> {
    load_picture(path.parent().unwrap_or(Path::new(".")), path)
}

/// Reads one picture of the catalog folder `dir`.
fn load_picture(dir: &Path, path: &Path) -> Result<RgbImage, CatalogError> {
    let bytes = std::fs::read(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            CatalogError::MissingPicture {
                file: path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                dir: dir.to_owned(),
            }
        } else {
            CatalogError::ReadDir {
                path: dir.to_owned(),
                source,
            }
        }
    })?;
    let image =
        image::load_from_memory_with_format(&bytes, ImageFormat::Jpeg).map_err(|source| {
            CatalogError::Decode {
                path: path.to_owned(),
                source,
            }
        })?;
    if u64::from(image.width()) * u64::from(image.height()) > MAX_PIXELS {
        return Err(CatalogError::TooLarge {
            path: path.to_owned(),
            width: image.width(),
            height: image.height(),
        });
    }
    Ok(image.to_rgb8())
}

/// Writes `file` of `dir` then renames it into place, so a reader never sees half a file; the
/// temporary name is the writer's own, so two processes writing one shared folder never mix
/// halves.
fn write_atomically(dir: &Path, file: &str, bytes: &[u8]) -> Result<(), CatalogError> {
    let write_err = |source| CatalogError::WriteDir {
        path: dir.to_owned(),
        source,
    };
    let tmp = dir.join(format!(
        ".{file}.{}-{:016x}.tmp",
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::write(&tmp, bytes).map_err(write_err)?;
    std::fs::rename(&tmp, dir.join(file)).map_err(write_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_catalog_has_at_least_eight_distinct_prizes() {
        let catalog = Catalog::demo();
        assert!(catalog.len() >= 8);
        let mut names: Vec<&str> = catalog.prizes().iter().map(|p| p.file.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), catalog.len());
        for prize in catalog.prizes() {
            assert_eq!(prize.image.dimensions(), (DEMO_WIDTH, DEMO_HEIGHT));
            assert!(prize.file.ends_with(".jpg"));
        }
    }

    #[test]
    fn catalog_round_trips_through_a_folder_and_is_created_when_empty() {
        let dir = tempfile::tempdir().unwrap();
        let prizes = dir.path().join("prizes");
        let created = Catalog::open_or_create(&prizes).unwrap();
        let loaded = Catalog::load_dir(&prizes).unwrap();
        assert_eq!(created.len(), loaded.len());
        let mut created_names: Vec<_> = created.prizes().iter().map(|p| &p.file).collect();
        created_names.sort();
        let loaded_names: Vec<_> = loaded.prizes().iter().map(|p| &p.file).collect();
        assert_eq!(created_names, loaded_names);
        // No temporary file is left behind.
        assert!(
            std::fs::read_dir(&prizes).unwrap().all(|e| !e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with('.'))
        );
    }

    #[test]
    fn writers_painting_one_folder_together_leave_whole_pictures() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::demo();
        std::thread::scope(|s| {
            for _ in 0..6 {
                s.spawn(|| catalog.write_dir(dir.path()).unwrap());
            }
        });
        // Every picture decodes (none is another writer's half), none is left temporary.
        assert_eq!(Catalog::load_dir(dir.path()).unwrap().len(), catalog.len());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    }

    #[test]
    fn a_broken_picture_in_the_folder_is_reported_by_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("broken.jpg"), b"not a jpeg").unwrap();
        let err = Catalog::load_dir(dir.path()).unwrap_err();
        assert!(err.to_string().contains("broken.jpg"), "{err}");
    }

    #[test]
    fn a_catalog_file_sets_the_odds_and_its_pictures() {
        let dir = tempfile::tempdir().unwrap();
        let written = Catalog::write_demo_dir(dir.path()).unwrap();
        let loaded = Catalog::load_dir(dir.path()).unwrap();
        assert_eq!(loaded.table(), Some(&PrizeTable::demo()));
        assert_eq!(loaded.len(), written.len());
        assert_eq!(loaded.total_weight(), 1000);
        let no_prize = loaded
            .prizes()
            .iter()
            .find(|p| p.file == "no-prize.jpg")
            .unwrap();
        assert_eq!(no_prize.weight, 700);
        // A picture the file names but the folder lacks is named.
        std::fs::remove_file(dir.path().join("drone.jpg")).unwrap();
        let err = Catalog::load_dir(dir.path()).unwrap_err().to_string();
        assert!(err.contains("drone.jpg"), "{err}");
    }

    #[test]
    fn weighted_draws_follow_the_weights() {
        let dir = tempfile::tempdir().unwrap();
        Catalog::demo().write_dir(dir.path()).unwrap();
        std::fs::write(
            dir.path().join(CATALOG_FILE),
            "[[prize]]\nname='Key'\npicture='usb-key.jpg'\nweight=1\n\
             [[prize]]\nname='Drone'\npicture='drone.jpg'\nweight=0\n\
             [[prize]]\nname='Card'\npicture='gift-card.jpg'\nweight=9\n",
        )
        .unwrap();
        let catalog = Catalog::load_dir(dir.path()).unwrap();
        // Every roll lands where the cumulative weights say.
        let rolls: Vec<_> = (0..catalog.total_weight())
            .map(|r| catalog.pick_with(r).unwrap().file.as_str())
            .collect();
        let mut expected = vec!["usb-key.jpg"];
        expected.extend(["gift-card.jpg"; 9]);
        assert_eq!(rolls, expected);
        // And random draws: about 1 in 10 keys, never a drone (20,000 draws; the bounds are
        // more than 10 standard deviations wide).
        let mut counts = std::collections::HashMap::new();
        for _ in 0..20_000 {
            *counts
                .entry(catalog.pick().unwrap().file.clone())
                .or_insert(0u32) += 1;
        }
        let keys = counts.get("usb-key.jpg").copied().unwrap_or(0);
        assert!((1_600..=2_400).contains(&keys), "{counts:?}");
        assert_eq!(counts.get("drone.jpg"), None, "{counts:?}");
        assert_eq!(counts.values().sum::<u32>(), 20_000);
    }

    #[test]
    fn pick_covers_the_catalog() {
        let catalog = Catalog::demo();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..2000 {
            seen.insert(catalog.pick().unwrap().file.clone());
        }
        assert_eq!(seen.len(), catalog.len());
    }
}
