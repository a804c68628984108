//! The prize catalog: the pictures W draws from.
//!
//! A catalog is a folder of JPEG files, one per prize, the file name being the prize name W
//! answers (`usb-key.jpg`), as with the original W: all equally likely. With a catalog file
//! (`catalog.toml`, see [`crate::odds`]) beside them, the pictures it lists are drawn by its
//! weights instead, "no prize" included. When the folder is empty the program paints its own
//! demo pictures into it, so no third-party picture is needed anywhere; how each is painted is
//! data, in `demo-pictures.toml` beside this crate's sources.

use std::path::{Path, PathBuf};

use std::sync::LazyLock;

use image::{ImageFormat, Rgb, RgbImage};
use serde::Deserialize;

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

/// How the demo pictures are painted: data, read once ([`demo_pictures`]).
const DEMO_PICTURES: &str = include_str!("../demo-pictures.toml");

/// The demo pictures (`demo-pictures.toml`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoPictures {
    /// The prizes, equally likely without a catalog file.
    picture: Vec<DemoPrize>,
    /// The picture of "no prize", drawn only with a catalog file that names it.
    no_prize: DemoPrize,
}

/// What a demo prize looks like: its name, colours and a few shapes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoPrize {
    file: String,
    label: String,
    top: [u8; 3],
    bottom: [u8; 3],
    shapes: Vec<Shape>,
}

/// A shape painted over the gradient, in pixels: x and y are the top-left corner of a rect,
/// the centre of the others. Written `{ shape = "rect", x = …, … }`: a missing or unknown key
/// is refused.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(tag = "shape", rename_all = "lowercase", deny_unknown_fields)]
enum Shape {
    Rect {
        x: i64,
        y: i64,
        w: u32,
        h: u32,
        colour: Colour,
    },
    Disc {
        x: i64,
        y: i64,
        r: u32,
        colour: Colour,
    },
    Ring {
        x: i64,
        y: i64,
        r: u32,
        inner: u32,
        colour: Colour,
    },
    /// The upper half of a ring.
    Arch {
        x: i64,
        y: i64,
        r: u32,
        inner: u32,
        colour: Colour,
    },
}

/// `[r, g, b]` or a colour of the pictures' palette.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(untagged)]
enum Colour {
    Rgb([u8; 3]),
    Named(Palette),
}

#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Palette {
    Ink,
    White,
    Silver,
    Gold,
}

impl Colour {
    fn rgb(self) -> Rgb<u8> {
        Rgb(match self {
            Colour::Rgb(c) => c,
            Colour::Named(Palette::Ink) => INK,
            Colour::Named(Palette::White) => WHITE,
            Colour::Named(Palette::Silver) => [200, 204, 212],
            Colour::Named(Palette::Gold) => [232, 185, 35],
        })
    }
}

const INK: [u8; 3] = [40, 44, 52];
const WHITE: [u8; 3] = [250, 250, 250];

/// The demo pictures, read from [`DEMO_PICTURES`] on first use.
fn demo_pictures() -> &'static DemoPictures {
    static PICTURES: LazyLock<DemoPictures> = LazyLock::new(|| {
        toml::from_str(DEMO_PICTURES).expect("demo-pictures.toml is valid (a unit test reads it)")
    });
    &PICTURES
}

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
        for shape in &self.shapes {
            match *shape {
                Shape::Rect { x, y, w, h, colour } => fill_rect(&mut img, x, y, w, h, colour.rgb()),
                Shape::Disc { x, y, r, colour } => {
                    fill_ring(&mut img, x, y, r, 0, false, colour.rgb());
                }
                Shape::Ring {
                    x,
                    y,
                    r,
                    inner,
                    colour,
                } => {
                    fill_ring(&mut img, x, y, r, inner, false, colour.rgb());
                }
                Shape::Arch {
                    x,
                    y,
                    r,
                    inner,
                    colour,
                } => {
                    fill_ring(&mut img, x, y, r, inner, true, colour.rgb());
                }
            }
        }
        fill_rect(&mut img, 0, 252, w, 52, Rgb(WHITE));
        draw_text_centred(&mut img, 262, &self.label, 4, 10, Rgb(INK));
        img
    }
}

impl Catalog {
    /// The built-in demo pictures, painted in memory (ten prizes, equally likely).
    pub fn demo() -> Self {
        Self {
            prizes: demo_pictures()
                .picture
                .iter()
                .map(|p| CatalogPrize {
                    file: p.file.clone(),
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
        let pictures = demo_pictures();
        let painted: Vec<&DemoPrize> = pictures
            .picture
            .iter()
            .chain([&pictures.no_prize])
            .collect();
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

    /// The demo pictures are data: every shape of the file is read as written, its colours by
    /// name or RGB, and a shape the painter does not know, or not whole, is refused.
    #[test]
    fn the_demo_pictures_are_read_shape_by_shape() {
        let pictures = demo_pictures();
        assert_eq!(pictures.picture.len(), 10);
        assert_eq!(pictures.no_prize.file, "no-prize.jpg");
        let key = &pictures.picture[0];
        assert_eq!(
            (key.file.as_str(), key.label.as_str()),
            ("usb-key.jpg", "USB KEY")
        );
        let silver = Colour::Named(Palette::Silver);
        assert_eq!(key.shapes.len(), 5);
        assert_eq!(
            key.shapes[0],
            Shape::Rect {
                x: 160,
                y: 100,
                w: 150,
                h: 70,
                colour: Colour::Named(Palette::Ink)
            }
        );
        assert_eq!(
            key.shapes[4],
            Shape::Disc {
                x: 185,
                y: 135,
                r: 10,
                colour: silver
            }
        );
        assert_eq!(silver.rgb(), Rgb([200, 204, 212]));
        assert_eq!(
            pictures.no_prize.shapes[0],
            Shape::Ring {
                x: 240,
                y: 130,
                r: 80,
                inner: 62,
                colour: Colour::Rgb([200, 70, 70])
            }
        );

        let with = |shape: &str| {
            toml::from_str::<DemoPictures>(&format!(
                "picture = []\n[no_prize]\nfile = \"n.jpg\"\nlabel = \"N\"\n\
                 top = [0, 0, 0]\nbottom = [0, 0, 0]\nshapes = [{shape}]\n"
            ))
        };
        let refused = |shape: &str, why: &str| {
            let err = with(shape).unwrap_err().to_string();
            assert!(err.contains(why), "{shape}: {err}");
        };
        let arch = "{ shape = \"arch\", x = 1, y = 2, r = 3, inner = 4, colour = \"gold\" }";
        assert!(with(arch).is_ok());
        refused(
            "{ shape = \"star\", x = 1, colour = \"ink\" }",
            "unknown variant",
        );
        refused(
            "{ shape = \"disc\", x = 1, y = 2, r = 3, w = 4, colour = \"ink\" }",
            "unknown field `w`",
        );
        refused(
            "{ shape = \"ring\", x = 1, y = 2, r = 3, colour = \"ink\" }",
            "missing field `inner`",
        );
        refused(
            "{ shape = \"rect\", x = 1, y = 2, w = -3, h = 4, colour = \"ink\" }",
            "invalid value",
        );
        refused(
            "{ x = 1, y = 2, r = 3, colour = \"ink\" }",
            "missing field `shape`",
        );
        assert!(with("{ shape = \"disc\", x = 1, y = 2, r = 3, colour = \"teal\" }").is_err());
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
