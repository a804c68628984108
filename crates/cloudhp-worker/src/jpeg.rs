//! A small baseline JPEG encoder (JFIF, YCbCr, Huffman tables of the standard's annex K).
//!
//! Written for tickets: it encodes MCU rows one after the other and its state between two rows
//! (the bytes so far, the bits not yet written, the DC predictions) can be kept and continued.
//! So the part of a ticket that is the same for every customer, the prize picture's whole MCU
//! rows, is encoded once per prize, and a ticket only encodes the rows below them: the strip.
//!
//! The output is what any baseline decoder reads: 8-bit samples, 4:2:0 or 4:4:4 chroma, one
//! interleaved scan, quantisation tables scaled from the standard's by quality like libjpeg.

/// Natural (row-major) index of each coefficient in zigzag order.
const ZIGZAG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// The standard's example quantisation tables (annex K.1), natural order.
const LUMA_QUANT: [u16; 64] = [
    16, 11, 10, 16, 24, 40, 51, 61, //
    12, 12, 14, 19, 26, 58, 60, 55, //
    14, 13, 16, 24, 40, 57, 69, 56, //
    14, 17, 22, 29, 51, 87, 80, 62, //
    18, 22, 37, 56, 68, 109, 103, 77, //
    24, 35, 55, 64, 81, 104, 113, 92, //
    49, 64, 78, 87, 103, 121, 120, 101, //
    72, 92, 95, 98, 112, 100, 103, 99,
];
const CHROMA_QUANT: [u16; 64] = [
    17, 18, 24, 47, 99, 99, 99, 99, //
    18, 21, 26, 66, 99, 99, 99, 99, //
    24, 26, 56, 99, 99, 99, 99, 99, //
    47, 66, 99, 99, 99, 99, 99, 99, //
    99, 99, 99, 99, 99, 99, 99, 99, //
    99, 99, 99, 99, 99, 99, 99, 99, //
    99, 99, 99, 99, 99, 99, 99, 99, //
    99, 99, 99, 99, 99, 99, 99, 99,
];

/// The standard's Huffman tables (annex K.3): code counts per length 1..=16, then the values.
const DC_LUMA_BITS: [u8; 16] = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_CHROMA_BITS: [u8; 16] = [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0];
const DC_VALUES: [u8; 12] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const AC_LUMA_BITS: [u8; 16] = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d];
const AC_LUMA_VALUES: [u8; 162] = [
    0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
    0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0,
    0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28,
    0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
    0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
    0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
    0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
    0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5,
    0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2,
    0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
    0xf9, 0xfa,
];
const AC_CHROMA_BITS: [u8; 16] = [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77];
const AC_CHROMA_VALUES: [u8; 162] = [
    0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71,
    0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0,
    0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26,
    0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
    0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
    0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
    0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5,
    0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3,
    0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda,
    0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
    0xf9, 0xfa,
];

/// Largest width or height a JPEG frame header can hold.
pub const MAX_DIMENSION: u32 = 65_535;

/// How the two chroma components are sampled against luma.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subsampling {
    /// Chroma at full resolution.
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "tickets use 4:2:0; tested both ways")
    )]
    S444,
    /// Chroma at half resolution both ways (what cameras and libjpeg write by default).
    S420,
}

impl Subsampling {
    /// Luma blocks per MCU along each axis.
    fn factor(self) -> usize {
        match self {
            Self::S444 => 1,
            Self::S420 => 2,
        }
    }
}

/// A Huffman table as codes and code lengths, indexed by symbol.
#[derive(Clone, Debug)]
struct HuffTable {
    code: [u16; 256],
    size: [u8; 256],
}

impl HuffTable {
    /// The canonical codes of a table given as counts per length and values (annex C).
    fn new(bits: &[u8; 16], values: &[u8]) -> Self {
        let mut table = Self {
            code: [0; 256],
            size: [0; 256],
        };
        let mut code: u16 = 0;
        let mut k = 0;
        for (len, &count) in bits.iter().enumerate() {
            for _ in 0..count {
                let v = usize::from(values[k]);
                table.code[v] = code;
                table.size[v] = len as u8 + 1;
                code += 1;
                k += 1;
            }
            code <<= 1;
        }
        table
    }
}

/// Everything that depends on the quality and subsampling only: tables and the DCT matrix.
#[derive(Debug)]
pub struct Encoder {
    subsampling: Subsampling,
    /// Quantisation tables in zigzag order, as written in the file.
    quant: [[u8; 64]; 2],
    /// Per natural-order coefficient: 1 / quantiser, the DCT's scale folded in.
    recip: [[f32; 64]; 2],
    /// DCT-II basis: `basis[u][x] = c(u)/2 · cos((2x+1)uπ/16)`, transposed (`[x][u]`).
    basis_t: [[f32; 8]; 8],
    dc: [HuffTable; 2],
    ac: [HuffTable; 2],
}

impl Encoder {
    pub fn new(quality: u8, subsampling: Subsampling) -> Self {
        let quality = u32::from(quality.clamp(1, 100));
        // libjpeg's scaling of the standard tables.
        let scale = if quality < 50 {
            5000 / quality
        } else {
            200 - 2 * quality
        };
        let mut quant = [[0u8; 64]; 2];
        let mut recip = [[0f32; 64]; 2];
        for (t, base) in [LUMA_QUANT, CHROMA_QUANT].iter().enumerate() {
            for (k, &natural) in ZIGZAG.iter().enumerate() {
                let q = ((u32::from(base[natural]) * scale + 50) / 100).clamp(1, 255);
                quant[t][k] = q as u8;
                recip[t][natural] = 1.0 / q as f32;
            }
        }
        let mut basis_t = [[0f32; 8]; 8];
        for (x, row) in basis_t.iter_mut().enumerate() {
            for (u, b) in row.iter_mut().enumerate() {
                let c = if u == 0 {
                    std::f64::consts::FRAC_1_SQRT_2
                } else {
                    1.0
                };
                let angle = (2 * x + 1) as f64 * u as f64 * std::f64::consts::PI / 16.0;
                *b = (c / 2.0 * angle.cos()) as f32;
            }
        }
        Self {
            subsampling,
            quant,
            recip,
            basis_t,
            dc: [
                HuffTable::new(&DC_LUMA_BITS, &DC_VALUES),
                HuffTable::new(&DC_CHROMA_BITS, &DC_VALUES),
            ],
            ac: [
                HuffTable::new(&AC_LUMA_BITS, &AC_LUMA_VALUES),
                HuffTable::new(&AC_CHROMA_BITS, &AC_CHROMA_VALUES),
            ],
        }
    }

    /// Height in pixels of one MCU row.
    pub fn mcu_height(&self) -> u32 {
        8 * self.subsampling.factor() as u32
    }

    /// Starts a picture of `width`×`height`: its headers, ready for its first MCU row.
    /// `width` and `height` must be in `1..=MAX_DIMENSION`.
    pub fn start(&self, width: u32, height: u32, capacity: usize) -> Scan {
        assert!((1..=MAX_DIMENSION).contains(&width) && (1..=MAX_DIMENSION).contains(&height));
        let mut out = Vec::with_capacity(capacity.max(1024));
        out.extend_from_slice(&[0xFF, 0xD8]);
        // JFIF APP0: version 1.01, no units, 1:1 aspect, no thumbnail.
        out.extend_from_slice(&[
            0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0,
        ]);
        out.extend_from_slice(&[0xFF, 0xDB, 0, 2 + 2 * 65]);
        for (t, table) in self.quant.iter().enumerate() {
            out.push(t as u8);
            out.extend_from_slice(table);
        }
        let f = self.subsampling.factor() as u8;
        out.extend_from_slice(&[0xFF, 0xC0, 0, 17, 8]);
        out.extend_from_slice(&(height as u16).to_be_bytes());
        out.extend_from_slice(&(width as u16).to_be_bytes());
        out.extend_from_slice(&[3, 1, (f << 4) | f, 0, 2, 0x11, 1, 3, 0x11, 1]);
        let tables: [(u8, &[u8; 16], &[u8]); 4] = [
            (0x00, &DC_LUMA_BITS, &DC_VALUES),
            (0x10, &AC_LUMA_BITS, &AC_LUMA_VALUES),
            (0x01, &DC_CHROMA_BITS, &DC_VALUES),
            (0x11, &AC_CHROMA_BITS, &AC_CHROMA_VALUES),
        ];
        let len: usize = 2 + tables.iter().map(|(_, _, v)| 17 + v.len()).sum::<usize>();
        out.extend_from_slice(&[0xFF, 0xC4]);
        out.extend_from_slice(&(len as u16).to_be_bytes());
        for (class_id, bits, values) in tables {
            out.push(class_id);
            out.extend_from_slice(bits);
            out.extend_from_slice(values);
        }
        out.extend_from_slice(&[0xFF, 0xDA, 0, 12, 3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]);
        Scan {
            out,
            acc: 0,
            nbits: 0,
            pred: [0; 3],
            width: width as usize,
        }
    }

    /// Encodes the MCU rows covering `rows` pixel rows of packed RGB (`rgb.len()` is
    /// `rows · width · 3`). Unless they end the picture, `rows` must be a multiple of
    /// [`Self::mcu_height`]; in the last MCU row the last pixel row is repeated, as is the last
    /// column in the last MCU of every row.
    pub fn encode_rows(&self, scan: &mut Scan, rgb: &[u8], rows: usize) {
        let width = scan.width;
        assert_eq!(rgb.len(), rows * width * 3);
        let f = self.subsampling.factor();
        let (mcu_w, mcu_h) = (8 * f, 8 * f);
        let mcus_x = width.div_ceil(mcu_w);
        let padded = mcus_x * mcu_w;
        // One MCU row as planes, level-shifted.
        let mut planes = vec![[0f32; 3]; padded * mcu_h];
        let mut y_plane = vec![0f32; padded * mcu_h];
        let chroma_w = padded / f;
        let mut cb_plane = vec![0f32; chroma_w * 8];
        let mut cr_plane = vec![0f32; chroma_w * 8];
        let mut block = [0f32; 64];
        for top in (0..rows).step_by(mcu_h) {
            for dy in 0..mcu_h {
                let y = (top + dy).min(rows - 1);
                let src = &rgb[y * width * 3..(y + 1) * width * 3];
                let dst = &mut planes[dy * padded..(dy + 1) * padded];
                for (d, p) in dst.iter_mut().zip(src.chunks_exact(3)) {
                    let (r, g, b) = (f32::from(p[0]), f32::from(p[1]), f32::from(p[2]));
                    *d = [
                        0.299 * r + 0.587 * g + 0.114 * b - 128.0,
                        -0.168_736 * r - 0.331_264 * g + 0.5 * b,
                        0.5 * r - 0.418_688 * g - 0.081_312 * b,
                    ];
                }
                let last = dst[width - 1];
                dst[width..].fill(last);
            }
            for (y, p) in y_plane.iter_mut().zip(&planes) {
                *y = p[0];
            }
            if f == 1 {
                for (i, p) in planes.iter().enumerate() {
                    cb_plane[i] = p[1];
                    cr_plane[i] = p[2];
                }
            } else {
                for cy in 0..8 {
                    let (r0, r1) = (2 * cy * padded, (2 * cy + 1) * padded);
                    for cx in 0..chroma_w {
                        let (a, b) = (planes[r0 + 2 * cx], planes[r0 + 2 * cx + 1]);
                        let (c, d) = (planes[r1 + 2 * cx], planes[r1 + 2 * cx + 1]);
                        cb_plane[cy * chroma_w + cx] = 0.25 * (a[1] + b[1] + c[1] + d[1]);
                        cr_plane[cy * chroma_w + cx] = 0.25 * (a[2] + b[2] + c[2] + d[2]);
                    }
                }
            }
            for mx in 0..mcus_x {
                for by in 0..f {
                    for bx in 0..f {
                        let x0 = mx * mcu_w + bx * 8;
                        load_block(&mut block, &y_plane, padded, x0, by * 8);
                        self.encode_block(scan, &block, 0);
                    }
                }
                for (c, plane) in [(1, &cb_plane), (2, &cr_plane)] {
                    load_block(&mut block, plane, chroma_w, mx * 8, 0);
                    self.encode_block(scan, &block, c);
                }
            }
        }
    }

    /// Transforms, quantises and writes one 8×8 block of component `c` (0 luma, 1–2 chroma).
    fn encode_block(&self, scan: &mut Scan, block: &[f32; 64], c: usize) {
        let t = usize::from(c > 0);
        // Rows: a[y][u] = Σx block[y][x]·basis[u][x]; then columns: f[v][u] = Σy basis[v][y]·a[y][u].
        // Written as 8-wide multiply-adds, which the compiler turns into vector code.
        let mut a = [[0f32; 8]; 8];
        for (row, samples) in a.iter_mut().zip(block.chunks_exact(8)) {
            for (&s, basis) in samples.iter().zip(&self.basis_t) {
                for (acc, b) in row.iter_mut().zip(basis) {
                    *acc += s * b;
                }
            }
        }
        let mut coef = [0f32; 64];
        for (a_row, basis) in a.iter().zip(&self.basis_t) {
            for (out, &b) in coef.chunks_exact_mut(8).zip(basis) {
                for (acc, x) in out.iter_mut().zip(a_row) {
                    *acc += b * x;
                }
            }
        }
        // Quantise and round to nearest: adding 1.5·2²³ leaves the rounded value in the low
        // mantissa bits (exact for |x| < 2²²; coefficients stay below 2¹¹).
        const MAGIC: f32 = 12_582_912.0;
        const MAGIC_BITS: i32 = 0x4B40_0000;
        let mut natural = [0i32; 64];
        for ((n, c), r) in natural.iter_mut().zip(&coef).zip(&self.recip[t]) {
            *n = ((c * r + MAGIC).to_bits() as i32).wrapping_sub(MAGIC_BITS);
        }
        let mut q = [0i32; 64];
        for (v, &n) in q.iter_mut().zip(&ZIGZAG) {
            *v = natural[n];
        }
        let (dc, ac) = (&self.dc[t], &self.ac[t]);
        let diff = q[0] - scan.pred[c];
        scan.pred[c] = q[0];
        let (size, bits) = magnitude(diff);
        scan.put(u32::from(dc.code[size]), u32::from(dc.size[size]));
        scan.put(bits, size as u32);
        // The AC coefficients that are not zero, as bits 1..=63.
        let mut nonzero = 0u64;
        for (k, v) in q.iter().enumerate().skip(1) {
            nonzero |= u64::from(*v != 0) << k;
        }
        let mut last = 0;
        while nonzero != 0 {
            let k = nonzero.trailing_zeros() as usize;
            nonzero &= nonzero - 1;
            let mut run = k - last - 1;
            while run > 15 {
                scan.put(u32::from(ac.code[0xF0]), u32::from(ac.size[0xF0]));
                run -= 16;
            }
            // Baseline AC coefficients have at most 10 bits of magnitude.
            let (size, bits) = magnitude(q[k].clamp(-1023, 1023));
            let symbol = (run << 4) | size;
            scan.put(u32::from(ac.code[symbol]), u32::from(ac.size[symbol]));
            scan.put(bits, size as u32);
            last = k;
        }
        if last < 63 {
            scan.put(u32::from(ac.code[0]), u32::from(ac.size[0]));
        }
    }
}

/// Copies the 8×8 block at (x0, y0) of a plane `stride` wide.
fn load_block(block: &mut [f32; 64], plane: &[f32], stride: usize, x0: usize, y0: usize) {
    for (y, row) in block.chunks_exact_mut(8).enumerate() {
        let start = (y0 + y) * stride + x0;
        row.copy_from_slice(&plane[start..start + 8]);
    }
}

/// The size category of a coefficient and its low bits as JPEG writes them.
fn magnitude(v: i32) -> (usize, u32) {
    let size = 32 - v.unsigned_abs().leading_zeros();
    let bits = if v < 0 { v - 1 } else { v } as u32;
    let mask = if size == 0 { 0 } else { (1u32 << size) - 1 };
    (size as usize, bits & mask)
}

/// A picture being written: the bytes so far, the bits not yet a whole byte, the DC
/// predictions. Cloning it continues the same picture twice.
#[derive(Clone, Debug)]
pub struct Scan {
    out: Vec<u8>,
    acc: u32,
    nbits: u32,
    pred: [i32; 3],
    width: usize,
}

impl Scan {
    /// Appends the `size` low bits of `bits`, most significant first, stuffing `FF` bytes.
    #[inline]
    fn put(&mut self, bits: u32, size: u32) {
        if size == 0 {
            return;
        }
        self.acc = (self.acc << size) | bits;
        self.nbits += size;
        while self.nbits >= 8 {
            self.nbits -= 8;
            let byte = (self.acc >> self.nbits) as u8;
            self.out.push(byte);
            if byte == 0xFF {
                self.out.push(0);
            }
        }
        self.acc &= (1 << self.nbits) - 1;
    }

    /// A copy of this state whose buffer has room for `extra` more bytes.
    pub fn continued(&self, extra: usize) -> Self {
        let mut out = Vec::with_capacity(self.out.len() + extra);
        out.extend_from_slice(&self.out);
        Self { out, ..*self }
    }

    /// Pads the last byte with ones and ends the picture.
    pub fn finish(mut self) -> Vec<u8> {
        if self.nbits > 0 {
            let pad = 8 - self.nbits;
            self.put((1 << pad) - 1, pad);
        }
        self.out.extend_from_slice(&[0xFF, 0xD9]);
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::decode;
    use image::RgbImage;

    fn encode(img: &RgbImage, subsampling: Subsampling) -> Vec<u8> {
        let enc = Encoder::new(90, subsampling);
        let mut scan = enc.start(img.width(), img.height(), 0);
        enc.encode_rows(&mut scan, img.as_raw(), img.height() as usize);
        scan.finish()
    }

    /// A smooth picture (JPEG's easy case, even with half-resolution chroma), so any pixel far
    /// off means a broken encoder.
    fn gradient(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([
                (40 + 2 * x).min(250) as u8,
                (30 + 3 * y).min(250) as u8,
                (100 + x + y).min(250) as u8,
            ])
        })
    }

    #[test]
    fn any_size_decodes_to_the_picture() {
        for subsampling in [Subsampling::S420, Subsampling::S444] {
            for (w, h) in [(1, 1), (7, 3), (16, 16), (17, 33), (120, 41)] {
                let img = gradient(w, h);
                let back = decode(&encode(&img, subsampling));
                assert_eq!(back.dimensions(), (w, h));
                for (a, b) in img.pixels().zip(back.pixels()) {
                    for (x, y) in a.0.iter().zip(b.0.iter()) {
                        assert!(
                            (i32::from(*x) - i32::from(*y)).abs() <= 12,
                            "{subsampling:?} {w}×{h}: {a:?} came back as {b:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn noise_and_extremes_decode() {
        // Large coefficients everywhere: exercises the long codes, ZRL and FF stuffing.
        let mut seed = 7u32;
        let img = RgbImage::from_fn(64, 48, |x, _| {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            if x % 2 == 0 {
                image::Rgb([255, 255, 255])
            } else {
                image::Rgb([(seed >> 24) as u8, 0, (seed >> 16) as u8])
            }
        });
        let enc = Encoder::new(100, Subsampling::S444);
        let mut scan = enc.start(64, 48, 0);
        enc.encode_rows(&mut scan, img.as_raw(), 48);
        assert_eq!(decode(&scan.finish()).dimensions(), (64, 48));
    }

    #[test]
    fn rows_encoded_in_parts_give_the_same_file() {
        let img = gradient(50, 40);
        let enc = Encoder::new(85, Subsampling::S420);
        let mut scan = enc.start(50, 40, 0);
        let split = 32 * 50 * 3;
        enc.encode_rows(&mut scan, &img.as_raw()[..split], 32);
        let tail = scan.continued(0);
        let mut whole = scan;
        enc.encode_rows(&mut whole, &img.as_raw()[split..], 8);
        let mut parts = tail;
        enc.encode_rows(&mut parts, &img.as_raw()[split..], 8);
        let parts = parts.finish();
        assert_eq!(whole.finish(), parts);
        let mut full = enc.start(50, 40, 0);
        enc.encode_rows(&mut full, img.as_raw(), 40);
        assert_eq!(full.finish(), parts);
    }
}
