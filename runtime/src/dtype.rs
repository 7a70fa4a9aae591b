//! ONNX `TensorProto.DataType` codes, as used in [`TensorDesc::dtype`](crate::TensorDesc),
//! and the Rust element types that generated APIs use for them.
//!
//! ```
//! use onnxc_runtime::dtype;
//! assert_eq!(dtype::name(dtype::FLOAT), "float32");
//! ```

/// `float32`.
pub const FLOAT: i32 = 1;
/// `uint8`.
pub const UINT8: i32 = 2;
/// `int8`.
pub const INT8: i32 = 3;
/// `uint16`.
pub const UINT16: i32 = 4;
/// `int16`.
pub const INT16: i32 = 5;
/// `int32`.
pub const INT32: i32 = 6;
/// `int64`.
pub const INT64: i32 = 7;
/// `bool`, one byte per element (0 or 1).
pub const BOOL: i32 = 9;
/// IEEE half; stored as `u16` bits.
pub const FLOAT16: i32 = 10;
/// `float64`.
pub const DOUBLE: i32 = 11;
/// `uint32`.
pub const UINT32: i32 = 12;
/// `uint64`.
pub const UINT64: i32 = 13;
/// bfloat16; stored as `u16` bits.
pub const BFLOAT16: i32 = 16;

// The float8, float4, E8M0 and 4-/2-bit integer types take one byte per
// element in onnxc buffers (not ONNX's packed file form): the bit pattern in
// the low bits, the high bits zero (numpy `ml_dtypes` layout, so int4 -1 is
// the byte 0x0F).

/// float8 E4M3, finite (no inf; S.1111.111 is NaN); one byte.
pub const FLOAT8E4M3FN: i32 = 17;
/// float8 E4M3, finite, no negative zero (0x80 is NaN); one byte.
pub const FLOAT8E4M3FNUZ: i32 = 18;
/// float8 E5M2 (IEEE-like, with inf and NaN); one byte.
pub const FLOAT8E5M2: i32 = 19;
/// float8 E5M2, finite, no negative zero (0x80 is NaN); one byte.
pub const FLOAT8E5M2FNUZ: i32 = 20;
/// 4-bit unsigned integer in the low nibble of a byte.
pub const UINT4: i32 = 21;
/// 4-bit two's complement integer in the low nibble of a byte.
pub const INT4: i32 = 22;
/// float4 E2M1 in the low nibble of a byte.
pub const FLOAT4E2M1: i32 = 23;
/// E8M0 scale: 2^(byte - 127), 0xFF is NaN; one byte.
pub const FLOAT8E8M0: i32 = 24;
/// 2-bit unsigned integer in the low bits of a byte.
pub const UINT2: i32 = 25;
/// 2-bit two's complement integer in the low bits of a byte.
pub const INT2: i32 = 26;

/// Bytes per element of `code`, `None` if onnxc does not know the code.
///
/// ```
/// assert_eq!(onnxc_runtime::dtype::size(onnxc_runtime::dtype::BOOL), Some(1));
/// assert_eq!(onnxc_runtime::dtype::size(8), None); // strings are not supported
/// ```
pub const fn size(code: i32) -> Option<usize> {
    Some(match code {
        UINT8 | INT8 | BOOL => 1,
        FLOAT8E4M3FN..=INT2 => 1,
        UINT16 | INT16 | FLOAT16 | BFLOAT16 => 2,
        FLOAT | INT32 | UINT32 => 4,
        INT64 | DOUBLE | UINT64 => 8,
        _ => return None,
    })
}

/// A short name for `code` (`"float32"`, `"int64"`, ...), `"unknown"` otherwise.
///
/// ```
/// assert_eq!(onnxc_runtime::dtype::name(7), "int64");
/// ```
pub const fn name(code: i32) -> &'static str {
    match code {
        FLOAT => "float32",
        UINT8 => "uint8",
        INT8 => "int8",
        UINT16 => "uint16",
        INT16 => "int16",
        INT32 => "int32",
        INT64 => "int64",
        BOOL => "bool",
        FLOAT16 => "float16",
        DOUBLE => "float64",
        UINT32 => "uint32",
        UINT64 => "uint64",
        BFLOAT16 => "bfloat16",
        FLOAT8E4M3FN => "float8e4m3fn",
        FLOAT8E4M3FNUZ => "float8e4m3fnuz",
        FLOAT8E5M2 => "float8e5m2",
        FLOAT8E5M2FNUZ => "float8e5m2fnuz",
        UINT4 => "uint4",
        INT4 => "int4",
        FLOAT4E2M1 => "float4e2m1",
        FLOAT8E8M0 => "float8e8m0",
        UINT2 => "uint2",
        INT2 => "int2",
        _ => "unknown",
    }
}

/// A Rust type that model buffers of dtype [`Element::DTYPE`] are made of.
///
/// # Safety
/// Every bit pattern must be a valid value (the model writes raw bytes into
/// outputs), and the size must be `dtype::size(DTYPE)`. That is why `bool`
/// tensors are `u8` and f16/bf16 tensors are `u16` bits.
///
/// ```
/// use onnxc_runtime::Element;
/// assert_eq!(<i64 as Element>::DTYPE, onnxc_runtime::dtype::INT64);
/// assert_eq!(<f32 as Element>::ZERO, 0.0);
/// ```
pub unsafe trait Element: Copy + 'static {
    /// The ONNX dtype code this type stands for.
    const DTYPE: i32;
    /// All bits zero.
    const ZERO: Self;
}

macro_rules! element {
    ($($t:ty => $code:expr, $zero:expr;)*) => {$(
        // SAFETY: plain numeric types: every bit pattern is valid, sizes match.
        unsafe impl Element for $t {
            const DTYPE: i32 = $code;
            const ZERO: Self = $zero;
        }
    )*};
}

element! {
    f32 => FLOAT, 0.0;
    f64 => DOUBLE, 0.0;
    i8 => INT8, 0;
    u8 => UINT8, 0;
    i16 => INT16, 0;
    u16 => UINT16, 0;
    i32 => INT32, 0;
    u32 => UINT32, 0;
    i64 => INT64, 0;
    u64 => UINT64, 0;
}
