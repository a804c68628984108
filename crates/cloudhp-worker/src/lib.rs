//! The prize worker (W): its prize catalog and the rendering of a customer's ticket, the prize
//! picture with a khaki strip below it reading `id:<id>` (see the W contract).
//!
//! Everything here is synchronous CPU work; async callers run it on a blocking thread.

mod catalog;
mod draw;
pub mod odds;

use image::Rgb;
use image::codecs::jpeg::JpegEncoder;

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

/// Encodes an RGB picture as a baseline JPEG.
pub fn encode_jpeg(img: &RgbImage) -> Result<Vec<u8>, image::ImageError> {
    let mut out = Vec::with_capacity((img.width() * img.height() / 4) as usize);
    JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY).encode_image(img)?;
    Ok(out)
}

/// The text the strip reads for a customer id.
pub fn strip_text(id: &str) -> String {
    let id: String = id.chars().take(MAX_ID_TEXT).collect();
    format!("id:{id}")
}

/// Renders a ticket: `prize` with a khaki strip appended below, reading `id:<id>` centred, as a
/// JPEG.
pub fn render_ticket(prize: &RgbImage, id: &str) -> Result<Vec<u8>, image::ImageError> {
    let (w, h) = prize.dimensions();
    let mut ticket = RgbImage::from_pixel(w, h + STRIP_HEIGHT, KHAKI);
    image::imageops::replace(&mut ticket, prize, 0, 0);
    let mut strip = RgbImage::from_pixel(w, STRIP_HEIGHT, KHAKI);
    let text_top = (STRIP_HEIGHT - 3 * draw::GLYPH) / 2;
    draw::draw_text_centred(
        &mut strip,
        i64::from(text_top),
        &strip_text(id),
        3,
        8,
        STRIP_INK,
    );
    image::imageops::replace(&mut ticket, &strip, 0, i64::from(h));
    encode_jpeg(&ticket)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::ImageFormat;

    fn decode(jpeg: &[u8]) -> RgbImage {
        image::load_from_memory_with_format(jpeg, ImageFormat::Jpeg)
            .unwrap()
            .to_rgb8()
    }

    fn close(a: Rgb<u8>, b: Rgb<u8>, tolerance: i32) -> bool {
        a.0.iter()
            .zip(b.0.iter())
            .all(|(x, y)| (i32::from(*x) - i32::from(*y)).abs() <= tolerance)
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

    fn cloudhp_core_like_jpeg(bytes: &[u8]) -> bool {
        bytes.starts_with(&[0xFF, 0xD8, 0xFF]) && bytes.ends_with(&[0xFF, 0xD9])
    }
}
