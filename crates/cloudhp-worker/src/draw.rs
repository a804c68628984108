//! A few drawing primitives on RGB images: filled shapes and bitmap text.
//!
//! Text uses the public-domain 8×8 glyphs of the `font8x8` crate, scaled by whole pixels, so the
//! program needs no font file and renders the same everywhere.

use font8x8::{BASIC_FONTS, UnicodeFonts};
use image::{Rgb, RgbImage};

/// Width and height of one glyph before scaling.
pub const GLYPH: u32 = 8;

pub fn fill_rect(img: &mut RgbImage, x: i64, y: i64, w: u32, h: u32, color: Rgb<u8>) {
    let (iw, ih) = (i64::from(img.width()), i64::from(img.height()));
    let x0 = x.clamp(0, iw);
    let y0 = y.clamp(0, ih);
    let x1 = (x + i64::from(w)).clamp(0, iw);
    let y1 = (y + i64::from(h)).clamp(0, ih);
    if x0 >= x1 {
        return;
    }
    // In bounds by the clamps above.
    let row = iw as usize * 3;
    let (x0, x1) = (x0 as usize * 3, x1 as usize * 3);
    for py in y0..y1 {
        let start = py as usize * row;
        for pixel in (**img)[start + x0..start + x1].chunks_exact_mut(3) {
            pixel.copy_from_slice(&color.0);
        }
    }
}

/// A filled disc; with `inner > 0` a ring; with `upper_half` only the part above the centre.
pub fn fill_ring(
    img: &mut RgbImage,
    cx: i64,
    cy: i64,
    outer: u32,
    inner: u32,
    upper_half: bool,
    color: Rgb<u8>,
) {
    let (outer, inner) = (i64::from(outer), i64::from(inner));
    let (iw, ih) = (i64::from(img.width()), i64::from(img.height()));
    let y_end = if upper_half { cy } else { cy + outer };
    for py in (cy - outer).max(0)..=y_end.min(ih - 1) {
        for px in (cx - outer).max(0)..=(cx + outer).min(iw - 1) {
            let d2 = (px - cx).pow(2) + (py - cy).pow(2);
            if d2 <= outer * outer && d2 >= inner * inner {
                img.put_pixel(px as u32, py as u32, color);
            }
        }
    }
}

/// The glyph rows of a character; characters the font lacks are drawn as `?`.
fn glyph(c: char) -> [u8; 8] {
    BASIC_FONTS
        .get(c)
        .or_else(|| BASIC_FONTS.get('?'))
        .unwrap_or([0; 8])
}

/// Width in pixels of `text` drawn at `scale`.
pub fn text_width(text: &str, scale: u32) -> u32 {
    let chars = u32::try_from(text.chars().count()).unwrap_or(u32::MAX);
    chars.saturating_mul(GLYPH * scale)
}

/// Draws `text` with its top-left corner at (x, y), each font pixel a `scale`×`scale` square.
pub fn draw_text(img: &mut RgbImage, x: i64, y: i64, text: &str, scale: u32, color: Rgb<u8>) {
    let step = i64::from(GLYPH * scale);
    for (i, c) in text.chars().enumerate() {
        let gx = x + step * i as i64;
        for (row, bits) in glyph(c).iter().enumerate() {
            for col in 0..GLYPH {
                if bits & (1 << col) != 0 {
                    fill_rect(
                        img,
                        gx + i64::from(col * scale),
                        y + row as i64 * i64::from(scale),
                        scale,
                        scale,
                        color,
                    );
                }
            }
        }
    }
}

/// Draws `text` centred horizontally in a band of `img` starting at `y`, at the largest scale
/// up to `max_scale` that fits the width (at least 1; text wider than that is cut).
pub fn draw_text_centred(
    img: &mut RgbImage,
    y: i64,
    text: &str,
    max_scale: u32,
    margin: u32,
    color: Rgb<u8>,
) -> u32 {
    let room = img.width().saturating_sub(2 * margin);
    let scale = (1..=max_scale.max(1))
        .rev()
        .find(|s| text_width(text, *s) <= room)
        .unwrap_or(1);
    let width = text_width(text, scale);
    let x = (i64::from(img.width()) - i64::from(width)) / 2;
    draw_text(img, x.max(i64::from(margin)), y, text, scale, color);
    scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_sets_pixels_only_inside_its_box() {
        let mut img = RgbImage::from_pixel(100, 20, Rgb([255, 255, 255]));
        draw_text(&mut img, 10, 2, "id:7", 2, Rgb([0, 0, 0]));
        let dark: Vec<(u32, u32)> = img
            .enumerate_pixels()
            .filter(|(_, _, p)| p.0 == [0, 0, 0])
            .map(|(x, y, _)| (x, y))
            .collect();
        assert!(!dark.is_empty());
        assert!(
            dark.iter()
                .all(|&(x, y)| (10..10 + 4 * 16).contains(&x) && (2..18).contains(&y))
        );
    }

    #[test]
    fn shapes_clip_at_the_edges_without_panicking() {
        let mut img = RgbImage::new(10, 10);
        fill_rect(&mut img, -5, -5, 30, 30, Rgb([1, 2, 3]));
        fill_ring(&mut img, 0, 0, 50, 0, false, Rgb([4, 5, 6]));
        draw_text(&mut img, -100, 100, "ÿ€漢", 3, Rgb([7, 8, 9]));
        assert_eq!(img.get_pixel(9, 9).0, [4, 5, 6]);
    }

    #[test]
    fn centred_text_shrinks_to_fit() {
        let mut img = RgbImage::new(64, 10);
        let scale = draw_text_centred(&mut img, 0, "id:1234", 4, 0, Rgb([255, 0, 0]));
        assert_eq!(scale, 1);
    }
}
