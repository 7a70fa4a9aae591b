//! Conversions between f32 and the one-byte element types ONNX added for
//! quantization: float8 (E4M3FN, E4M3FNUZ, E5M2, E5M2FNUZ), float4 E2M1,
//! the scale type E8M0, and the 4-/2-bit integers.
//!
//! Every such element is one byte with its bit pattern in the low bits and
//! the high bits zero (numpy's `ml_dtypes` layout). The rules are ONNX's
//! (`onnx.numpy_helper.saturate_cast`, `to_float8e8m0` and `ml_dtypes`
//! `astype`): round to nearest, ties to even; `saturate` clamps overflow
//! (and ±inf) to the largest finite value, otherwise overflow becomes inf
//! where the type has one and NaN where it does not. FNUZ types have no
//! negative zero. The kernel IR builds the same conversions from integer
//! operations (`onnxc_kernel::math`), tested bit for bit against these.

use crate::dtype::DType;

/// How a float format spends its top codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Special {
    /// IEEE-like (E5M2): the all-ones exponent is inf (mantissa 0) or NaN.
    Ieee,
    /// "Finite" (E4M3FN): no inf, S.1111.111 is NaN.
    Fn,
    /// "Finite, unsigned zero" (FNUZ): no inf, no -0, 0x80 is the only NaN.
    Fnuz,
    /// Every code is a finite number (float4 E2M1).
    AllFinite,
}

/// A sign + exponent + mantissa format narrower than f16.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Format {
    pub exp_bits: u32,
    pub man_bits: u32,
    pub bias: i32,
    pub special: Special,
    /// The code (sign clear) of the largest finite value.
    pub max_code: u32,
}

impl Format {
    pub fn of(d: DType) -> Option<Format> {
        let f = |exp_bits, man_bits, bias, special, max_code| Format { exp_bits, man_bits, bias, special, max_code };
        Some(match d {
            DType::F8E4M3FN => f(4, 3, 7, Special::Fn, 0x7e),
            DType::F8E4M3FNUZ => f(4, 3, 8, Special::Fnuz, 0x7f),
            DType::F8E5M2 => f(5, 2, 15, Special::Ieee, 0x7b),
            DType::F8E5M2FNUZ => f(5, 2, 16, Special::Fnuz, 0x7f),
            DType::F4E2M1 => f(2, 1, 1, Special::AllFinite, 0x7),
            _ => return None,
        })
    }

    pub fn sign_bit(&self) -> u32 {
        1 << (self.exp_bits + self.man_bits)
    }

    /// The code of +inf, if the format has one.
    pub fn inf_code(&self) -> Option<u32> {
        (self.special == Special::Ieee).then(|| ((1 << self.exp_bits) - 1) << self.man_bits)
    }

    /// The code a NaN input of sign `sign` (0 or 1) converts to, as
    /// `ml_dtypes` writes it: a quiet NaN keeping the sign (E5M2: top
    /// mantissa bit; FN: all ones), FNUZ's single NaN, and for float4, which
    /// has no NaN, a zero whose sign bit is the NaN's sign inverted.
    pub fn nan_code(&self, sign: u32) -> u32 {
        let sb = self.sign_bit();
        match self.special {
            Special::Ieee => {
                ((((1 << self.exp_bits) - 1) << self.man_bits) | (1 << (self.man_bits - 1))) | sign * sb
            }
            Special::Fn => (sb - 1) | sign * sb,
            Special::Fnuz => sb,
            Special::AllFinite => (1 - sign) * sb,
        }
    }

    /// Value of `code` (only its low `1 + exp_bits + man_bits` bits count).
    pub fn decode(&self, code: u8) -> f32 {
        let sb = self.sign_bit();
        let code = code as u32 & (2 * sb - 1);
        let sign = (code & sb != 0) as u32;
        let mag = code & (sb - 1);
        let e = mag >> self.man_bits;
        let m = mag & ((1 << self.man_bits) - 1);
        let is_nan = match self.special {
            Special::Ieee => e == (1 << self.exp_bits) - 1 && m != 0,
            Special::Fn => mag == sb - 1,
            Special::Fnuz => code == sb,
            Special::AllFinite => false,
        };
        let abs_bits = if is_nan {
            0x7fc0_0000
        } else if Some(mag) == self.inf_code() {
            0x7f80_0000
        } else if e == 0 {
            // Subnormal: m · 2^(1 - bias - man_bits), exact in f32.
            (m as f32 * 2f32.powi(1 - self.bias - self.man_bits as i32)).to_bits()
        } else {
            (((e as i32 - self.bias + 127) as u32) << 23) | (m << (23 - self.man_bits))
        };
        f32::from_bits(abs_bits | sign << 31)
    }

    /// `x` rounded to nearest even; `saturate` clamps overflow and ±inf to
    /// ±max, otherwise they become inf (E5M2) or NaN (FN, FNUZ); float4 has
    /// neither and always clamps. NaN gives `nan_code`.
    pub fn encode(&self, x: f32, saturate: bool) -> u8 {
        let bits = x.to_bits();
        let sign = bits >> 31;
        let a = bits & 0x7fff_ffff;
        let sb = self.sign_bit();
        if a > 0x7f80_0000 {
            return self.nan_code(sign) as u8;
        }
        let overflow = || -> u8 {
            let code = match self.special {
                _ if saturate => self.max_code | sign * sb,
                Special::Ieee => self.inf_code().unwrap_or(0) | sign * sb,
                Special::Fn => (sb - 1) | sign * sb,
                Special::Fnuz => sb,
                Special::AllFinite => self.max_code | sign * sb,
            };
            code as u8
        };
        if a == 0x7f80_0000 {
            return overflow();
        }
        let min_normal_bits = ((1 - self.bias + 127) as u32) << 23;
        let code = if a < min_normal_bits {
            // Scaling by a power of two is exact; the rounding is the only one.
            let q = f32::from_bits(a) * 2f32.powi(self.bias + self.man_bits as i32 - 1);
            q.round_ties_even() as u32
        } else {
            let shift = 23 - self.man_bits;
            let r = (a + ((1 << (shift - 1)) - 1) + ((a >> shift) & 1)) >> shift;
            r - (((127 - self.bias) as u32) << self.man_bits)
        };
        if code > self.max_code {
            return overflow();
        }
        if code == 0 && self.special == Special::Fnuz {
            return 0;
        }
        (code | sign * sb) as u8
    }
}

/// E8M0 (`float8e8m0fnu`): an unsigned power of two 2^(code - 127); 0xFF is NaN.
pub fn e8m0_decode(code: u8) -> f32 {
    match code {
        0xff => f32::from_bits(0x7fc0_0000),
        0 => f32::from_bits(0x0040_0000), // 2^-127 is an f32 subnormal
        e => f32::from_bits((e as u32) << 23),
    }
}

/// f32 to E8M0 with ONNX's default `round_mode = "up"`: the sign is ignored,
/// any nonzero fraction rounds the exponent up; with `saturate` the top
/// exponent does not round up into NaN. inf and NaN give NaN (0xFF).
pub fn e8m0_encode(x: f32, saturate: bool) -> u8 {
    let bits = x.to_bits();
    let e = (bits >> 23) & 0xff;
    if e == 0xff {
        return 0xff;
    }
    let up = (bits & 0x7f_ffff != 0) && !(saturate && e == 0xfe);
    (e + up as u32) as u8
}

/// The value of a 4-/2-bit integer element (sign-extended for I4/I2).
pub fn int_decode(d: DType, b: u8) -> i32 {
    match d {
        DType::I4 => ((b << 4) as i8 >> 4) as i32,
        DType::U4 => (b & 0xf) as i32,
        DType::I2 => ((b << 6) as i8 >> 6) as i32,
        DType::U2 => (b & 0x3) as i32,
        _ => b as i32,
    }
}

/// The low bits of `v` (integers wrap, as every int-to-int cast does).
pub fn int_encode(d: DType, v: i32) -> u8 {
    (v as u8) & (((1u32 << d.bits()) - 1) as u8)
}

/// Element of a small dtype (`DType::is_small`) as f32 (ints exactly).
pub fn decode(d: DType, b: u8) -> f32 {
    if let Some(f) = Format::of(d) {
        f.decode(b)
    } else if d == DType::F8E8M0 {
        e8m0_decode(b)
    } else {
        int_decode(d, b) as f32
    }
}

/// f32 to a small dtype with ONNX `Cast` semantics: floats round to nearest
/// even (`saturate` as for Cast); integers truncate toward zero, saturate to
/// i32 (NaN to 0, the kernel IR's float-to-int rule) and wrap to their bits.
pub fn encode(d: DType, x: f32, saturate: bool) -> u8 {
    if let Some(f) = Format::of(d) {
        f.encode(x, saturate)
    } else if d == DType::F8E8M0 {
        e8m0_encode(x, saturate)
    } else {
        int_encode(d, x as i32)
    }
}

/// Unpacks ONNX's packed storage of 4-bit (two per byte, low nibble first)
/// and 2-bit (four per byte, from the LSB) elements into one byte each.
/// Returns `None` when `packed` is too short for `n` elements.
pub fn unpack(d: DType, packed: &[u8], n: usize) -> Option<Vec<u8>> {
    let bits = d.bits();
    if bits >= 8 {
        return packed.get(..n).map(<[u8]>::to_vec);
    }
    let per = 8 / bits;
    if packed.len() < n.div_ceil(per) {
        return None;
    }
    let mask = ((1u32 << bits) - 1) as u8;
    Some((0..n).map(|i| (packed[i / per] >> ((i % per) * bits)) & mask).collect())
}

/// Bytes the packed ONNX storage of `n` elements of `d` takes.
pub fn packed_len(d: DType, n: usize) -> usize {
    let bits = d.bits();
    if bits >= 8 {
        n * d.size()
    } else {
        n.div_ceil(8 / bits)
    }
}
