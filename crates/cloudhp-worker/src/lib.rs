//! The prize worker (W): its prize catalog and the rendering of a customer's ticket, the prize
//! picture with a khaki strip below it reading `id:<id>` (see the W contract).
//!
//! Everything here is synchronous CPU work; async callers run it on a blocking thread.

mod catalog;
mod draw;
mod jpeg;
pub mod odds;

use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use image::Rgb;
use image::error::{LimitError, LimitErrorKind};

pub use image::{ImageError, RgbImage};

pub use catalog::{Catalog, CatalogError, CatalogPrize, DEMO_HEIGHT, DEMO_WIDTH, read_picture};
pub use odds::{CATALOG_FILE, Fallback, OddsError, PrizeEntry, PrizeTable};

/// The strip's background: CSS `khaki`, as the original W.
pub const KHAKI: Rgb<u8> = Rgb([240, 230, 140]);
/// Height of the id strip in pixels.
pub const STRIP_HEIGHT: u32 = 48;
/// Longest id text drawn on a strip; longer text is cut (the original draws whatever it gets).
pub const MAX_ID_TEXT: usize = 64;
/// JPEG quality of rendered tickets.
pub const JPEG_QUALITY: u8 = 85;

const STRIP_INK: Rgb<u8> = Rgb([50, 45, 20]);

/// The JPEG writer of tickets and pictures: quality [`JPEG_QUALITY`], chroma at half
/// resolution both ways (4:2:0, libjpeg's default).
static ENCODER: LazyLock<jpeg::Encoder> =
    LazyLock::new(|| jpeg::Encoder::new(JPEG_QUALITY, jpeg::Subsampling::S420));

fn dimension_error() -> ImageError {
    ImageError::Limits(LimitError::from_kind(LimitErrorKind::DimensionError))
}

fn check_dimensions(width: u32, height: u32) -> Result<(), ImageError> {
    let ok = 1..=jpeg::MAX_DIMENSION;
    if ok.contains(&width) && ok.contains(&height) {
        Ok(())
    } else {
        Err(dimension_error())
    }
}

/// Encodes an RGB picture as a baseline JPEG.
pub fn encode_jpeg(img: &RgbImage) -> Result<Vec<u8>, image::ImageError> {
    let (w, h) = img.dimensions();
    check_dimensions(w, h)?;
    let mut scan = ENCODER.start(w, h, (w * h / 4) as usize);
    ENCODER.encode_rows(&mut scan, img.as_raw(), h as usize);
    Ok(scan.finish())
}

/// The text the strip reads for a customer id.
pub fn strip_text(id: &str) -> String {
    let id: String = id.chars().take(MAX_ID_TEXT).collect();
    format!("id:{id}")
}

/// The strip of a ticket `width` wide: khaki, reading `id:<id>` centred.
fn strip(width: u32, id: &str) -> RgbImage {
    let mut strip = RgbImage::from_pixel(width, STRIP_HEIGHT, KHAKI);
    let text_top = (STRIP_HEIGHT - 3 * draw::GLYPH) / 2;
    draw::draw_text_centred(
        &mut strip,
        i64::from(text_top),
        &strip_text(id),
        3,
        8,
        STRIP_INK,
    );
    strip
}

/// A prize made ready for tickets: the JPEG of a ticket up to the prize's last whole row of
/// blocks is the same for every customer, so it is encoded once here and each ticket encodes
/// only the rows below (the strip, and the prize's last few rows when its height is not a
/// multiple of 16).
#[derive(Clone, Debug)]
pub struct TicketTemplate {
    width: u32,
    /// The prize's rows after its last whole MCU row, packed RGB.
    tail: Vec<u8>,
    tail_rows: usize,
    /// The ticket's JPEG up to there.
    head: jpeg::Scan,
}

impl TicketTemplate {
    /// Prepares the tickets of `prize`; fails when a ticket would be too large for a JPEG.
    pub fn new(prize: &RgbImage) -> Result<Self, ImageError> {
        let (w, h) = prize.dimensions();
        check_dimensions(w, h.checked_add(STRIP_HEIGHT).ok_or_else(dimension_error)?)?;
        let whole = (h - h % ENCODER.mcu_height()) as usize;
        let row = w as usize * 3;
        let (rows, tail) = prize.as_raw().split_at(whole * row);
        let mut head = ENCODER.start(w, h + STRIP_HEIGHT, rows.len() / 16 + 4096);
        ENCODER.encode_rows(&mut head, rows, whole);
        Ok(Self {
            width: w,
            tail: tail.to_vec(),
            tail_rows: (h as usize) - whole,
            head,
        })
    }

    /// The ticket of customer `id`, as a JPEG.
    pub fn render(&self, id: &str) -> Vec<u8> {
        let strip = strip(self.width, id);
        let mut rows = Vec::with_capacity(self.tail.len() + strip.as_raw().len());
        rows.extend_from_slice(&self.tail);
        rows.extend_from_slice(strip.as_raw());
        let mut scan = self.head.continued(rows.len() / 8 + 1024);
        ENCODER.encode_rows(&mut scan, &rows, self.tail_rows + STRIP_HEIGHT as usize);
        let mut jpeg = scan.finish();
        // The buffer was sized for the worst case, about 6 KB more than a ticket takes. A
        // ticket is held until it is stored (a burst holds up to thousands at once), so it
        // holds its bytes and no more.
        jpeg.shrink_to_fit();
        jpeg
    }
}

/// Templates of the prizes seen lately, with a copy of each prize to recognise it by.
struct CachedTemplate {
    fingerprint: u64,
    prize: RgbImage,
    template: TicketTemplate,
}

/// Bound on the prize pixels the template cache holds (the demo catalog needs 4.6 MB).
const CACHE_BYTES: usize = 64 << 20;

static TEMPLATES: Mutex<Vec<Arc<CachedTemplate>>> = Mutex::new(Vec::new());

/// A quick hash of a picture's size and of a few hundred of its pixels, spread over it: it only
/// picks the cached templates worth comparing the whole picture with.
fn fingerprint(img: &RgbImage) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    const SAMPLES: usize = 256;
    let raw = img.as_raw();
    let mut h = (u64::from(img.width()) << 32 | u64::from(img.height())).wrapping_mul(K);
    if raw.len() >= 8 {
        let step = ((raw.len() - 8) / SAMPLES).max(1);
        for at in (0..=raw.len() - 8).step_by(step) {
            let word = u64::from_le_bytes(raw[at..at + 8].try_into().expect("8 bytes"));
            h = (h.rotate_left(23) ^ word).wrapping_mul(K);
        }
    }
    h
}

/// The cached template of `prize`, if any.
fn cached_template(fingerprint: u64, prize: &RgbImage) -> Option<Arc<CachedTemplate>> {
    let candidates: Vec<Arc<CachedTemplate>> = TEMPLATES
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .filter(|c| c.fingerprint == fingerprint)
        .cloned()
        .collect();
    candidates.into_iter().find(|c| c.prize == *prize)
}

/// The template of `prize`, from the cache when it was seen lately.
fn template_of(prize: &RgbImage) -> Result<Arc<CachedTemplate>, ImageError> {
    let fingerprint = fingerprint(prize);
    if let Some(cached) = cached_template(fingerprint, prize) {
        return Ok(cached);
    }
    let cached = Arc::new(CachedTemplate {
        fingerprint,
        prize: prize.clone(),
        template: TicketTemplate::new(prize)?,
    });
    let size = |c: &CachedTemplate| c.prize.as_raw().len();
    if size(&cached) <= CACHE_BYTES / 4 {
        let mut cache = TEMPLATES.lock().unwrap_or_else(PoisonError::into_inner);
        // Another thread may have cached the same prize meanwhile.
        if !cache
            .iter()
            .any(|c| c.fingerprint == fingerprint && c.prize == *prize)
        {
            cache.push(Arc::clone(&cached));
            let mut total: usize = cache.iter().map(|c| size(c)).sum();
            while total > CACHE_BYTES {
                total -= size(&cache.remove(0));
            }
        }
    }
    Ok(cached)
}

/// Renders a ticket: `prize` with a khaki strip appended below, reading `id:<id>` centred, as a
/// JPEG.
///
/// The part of the JPEG that shows the prize is kept per prize (see [`TicketTemplate`]), for
/// the prizes seen lately, so the tickets of a catalog's prizes cost only their strip.
pub fn render_ticket(prize: &RgbImage, id: &str) -> Result<Vec<u8>, image::ImageError> {
    Ok(template_of(prize)?.template.render(id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::ImageFormat;

    /// Decodes with the `image` crate's decoder: another implementation than our encoder's.
    pub(crate) fn decode(jpeg: &[u8]) -> RgbImage {
        image::load_from_memory_with_format(jpeg, ImageFormat::Jpeg)
            .unwrap()
            .to_rgb8()
    }

    fn close(a: Rgb<u8>, b: Rgb<u8>, tolerance: i32) -> bool {
        a.0.iter()
            .zip(b.0.iter())
            .all(|(x, y)| (i32::from(*x) - i32::from(*y)).abs() <= tolerance)
    }

    /// A burst holds thousands of tickets waiting to be stored: none carries spare capacity.
    #[test]
    fn a_ticket_holds_its_bytes_and_no_more() {
        for prize in Catalog::demo().prizes() {
            let jpeg = render_ticket(&prize.image, "12345").unwrap();
            assert_eq!(jpeg.capacity(), jpeg.len(), "{}", prize.file);
        }
    }

    #[test]
    fn ticket_is_the_prize_with_a_khaki_strip_below() {
        let catalog = Catalog::demo();
        let prize = &catalog.prizes()[0].image;
        let jpeg = render_ticket(prize, "1234").unwrap();
        assert!(cloudhp_core_like_jpeg(&jpeg));
        let ticket = decode(&jpeg);
        assert_eq!(ticket.width(), prize.width());
        assert_eq!(ticket.height(), prize.height() + STRIP_HEIGHT);

        // The strip's corners are khaki, and it holds dark text pixels.
        let top = prize.height();
        assert!(close(*ticket.get_pixel(2, top + 2), KHAKI, 12));
        assert!(close(
            *ticket.get_pixel(ticket.width() - 3, ticket.height() - 3),
            KHAKI,
            12
        ));
        let dark = (top..ticket.height())
            .flat_map(|y| (0..ticket.width()).map(move |x| (x, y)))
            .filter(|&(x, y)| ticket.get_pixel(x, y).0.iter().all(|c| *c < 110))
            .count();
        assert!(
            dark > 100,
            "the strip should carry text, found {dark} dark pixels"
        );

        // Above the strip, the picture is the prize (JPEG is lossy: compare loosely).
        let differing = (0..top)
            .step_by(7)
            .flat_map(|y| (0..prize.width()).step_by(7).map(move |x| (x, y)))
            .filter(|&(x, y)| !close(*ticket.get_pixel(x, y), *prize.get_pixel(x, y), 40))
            .count();
        assert!(
            differing < 40,
            "{differing} sampled pixels differ from the prize"
        );
    }

    #[test]
    fn different_ids_give_different_strips() {
        let catalog = Catalog::demo();
        let prize = &catalog.prizes()[1].image;
        let a = decode(&render_ticket(prize, "1").unwrap());
        let b = decode(&render_ticket(prize, "999999").unwrap());
        let top = prize.height();
        let differ = (top..a.height())
            .flat_map(|y| (0..a.width()).map(move |x| (x, y)))
            .any(|(x, y)| !close(*a.get_pixel(x, y), *b.get_pixel(x, y), 30));
        assert!(differ);
    }

    #[test]
    fn odd_ids_render_without_panicking() {
        let prize = RgbImage::from_pixel(40, 30, Rgb([0, 0, 0]));
        for id in ["", "a b", "漢字", &"9".repeat(500)] {
            let jpeg = render_ticket(&prize, id).unwrap();
            assert_eq!(decode(&jpeg).height(), 30 + STRIP_HEIGHT);
        }
        assert_eq!(strip_text(&"9".repeat(500)).len(), 3 + MAX_ID_TEXT);
    }

    /// The ticket built in one piece, the way a template splits it.
    fn ticket_in_one_piece(prize: &RgbImage, id: &str) -> RgbImage {
        let (w, h) = prize.dimensions();
        let mut ticket = RgbImage::new(w, h + STRIP_HEIGHT);
        image::imageops::replace(&mut ticket, prize, 0, 0);
        image::imageops::replace(&mut ticket, &strip(w, id), 0, i64::from(h));
        ticket
    }

    #[test]
    fn a_template_writes_the_same_file_as_encoding_the_whole_ticket() {
        let catalog = Catalog::demo();
        let demo = &catalog.prizes()[2].image;
        // Heights on and off the 16-row blocks, one below a block's height.
        for (w, h) in [(DEMO_WIDTH, DEMO_HEIGHT), (101, 37), (33, 7)] {
            let prize = image::imageops::crop_imm(demo, 0, 0, w, h).to_image();
            let template = TicketTemplate::new(&prize).unwrap();
            for id in ["1", "12345678"] {
                let whole = encode_jpeg(&ticket_in_one_piece(&prize, id)).unwrap();
                assert_eq!(template.render(id), whole, "{w}×{h}, id {id}");
                assert_eq!(
                    render_ticket(&prize, id).unwrap(),
                    whole,
                    "{w}×{h}, id {id}"
                );
            }
        }
    }

    #[test]
    fn the_template_cache_tells_prizes_apart() {
        // Same size, same first rows: only the last pixel differs.
        let a = RgbImage::from_pixel(64, 40, Rgb([10, 200, 10]));
        let mut b = a.clone();
        b.put_pixel(63, 39, Rgb([250, 0, 250]));
        for _ in 0..2 {
            for prize in [&a, &b] {
                let expected = encode_jpeg(&ticket_in_one_piece(prize, "7")).unwrap();
                assert_eq!(render_ticket(prize, "7").unwrap(), expected);
            }
        }
    }

    #[test]
    fn pictures_too_large_for_a_jpeg_are_refused() {
        let tall = RgbImage::new(1, jpeg::MAX_DIMENSION - STRIP_HEIGHT + 1);
        assert!(matches!(
            render_ticket(&tall, "1"),
            Err(ImageError::Limits(_))
        ));
        assert!(matches!(
            encode_jpeg(&RgbImage::new(0, 5)),
            Err(ImageError::Limits(_))
        ));
    }

    fn cloudhp_core_like_jpeg(bytes: &[u8]) -> bool {
        bytes.starts_with(&[0xFF, 0xD8, 0xFF]) && bytes.ends_with(&[0xFF, 0xD9])
    }
}
