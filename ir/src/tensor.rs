//! Constant tensors: dense little-endian bytes shared by reference so that
//! large weights read from a model file are never copied more than once.

use crate::dtype::{DType, TensorType};
use crate::error::IrError;
use crate::minifloat;
use bytes::Bytes;
use half::{bf16, f16};
use serde::{Deserialize, Serialize};

#[derive(Clone, PartialEq)]
pub struct Tensor {
    ty: TensorType,
    data: Bytes,
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tensor({}", self.ty)?;
        if self.numel() <= 16 {
            write!(f, " {:?}", self.to_f64_vec())?;
        }
        f.write_str(")")
    }
}

/// Element types that can be viewed in a tensor's byte buffer.
pub trait Element: Copy + Default + 'static {
    const DTYPE: DType;
    fn read_le(b: &[u8]) -> Self;
    fn write_le(self, out: &mut Vec<u8>);
    fn to_f64(self) -> f64;
    fn from_f64(v: f64) -> Self;
}

macro_rules! element {
    ($t:ty, $d:expr) => {
        impl Element for $t {
            const DTYPE: DType = $d;
            fn read_le(b: &[u8]) -> Self {
                <$t>::from_le_bytes(b.try_into().expect("element width"))
            }
            fn write_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes())
            }
            fn to_f64(self) -> f64 {
                self as f64
            }
            fn from_f64(v: f64) -> Self {
                v as $t
            }
        }
    };
}
element!(f32, DType::F32);
element!(f64, DType::F64);
element!(i8, DType::I8);
element!(i16, DType::I16);
element!(i32, DType::I32);
element!(i64, DType::I64);
element!(u8, DType::U8);
element!(u16, DType::U16);
element!(u32, DType::U32);
element!(u64, DType::U64);

impl Element for bool {
    const DTYPE: DType = DType::Bool;
    fn read_le(b: &[u8]) -> Self {
        b[0] != 0
    }
    fn write_le(self, out: &mut Vec<u8>) {
        out.push(self as u8)
    }
    fn to_f64(self) -> f64 {
        self as u8 as f64
    }
    fn from_f64(v: f64) -> Self {
        v != 0.0
    }
}

macro_rules! half_element {
    ($t:ty, $d:expr) => {
        impl Element for $t {
            const DTYPE: DType = $d;
            fn read_le(b: &[u8]) -> Self {
                <$t>::from_le_bytes(b.try_into().expect("element width"))
            }
            fn write_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes())
            }
            fn to_f64(self) -> f64 {
                self.to_f64()
            }
            fn from_f64(v: f64) -> Self {
                <$t>::from_f64(v)
            }
        }
    };
}
half_element!(f16, DType::F16);
half_element!(bf16, DType::BF16);

impl Tensor {
    /// Wraps existing bytes without copying. Fails if the byte count does not
    /// match the type (a truncated initializer, say).
    pub fn from_bytes(ty: TensorType, data: Bytes) -> Result<Tensor, IrError> {
        let want = ty.byte_size().ok_or_else(|| IrError::TooLarge(ty.to_string()))?;
        if data.len() != want {
            return Err(IrError::DataSize { ty: ty.to_string(), expected: want, got: data.len() });
        }
        Ok(Tensor { ty, data })
    }

    pub fn from_vec<T: Element>(shape: impl Into<Vec<usize>>, values: Vec<T>) -> Tensor {
        let shape = shape.into();
        assert_eq!(shape.iter().product::<usize>(), values.len(), "tensor shape/data mismatch");
        let mut out = Vec::with_capacity(values.len() * T::DTYPE.size());
        for v in values {
            v.write_le(&mut out);
        }
        Tensor { ty: TensorType::new(T::DTYPE, shape), data: Bytes::from(out) }
    }

    pub fn scalar<T: Element>(v: T) -> Tensor {
        Tensor::from_vec(Vec::<usize>::new(), vec![v])
    }

    /// A tensor of `dtype` whose elements are `values` converted from f64
    /// (the conversion an evaluator of any dtype needs).
    pub fn from_f64(dtype: DType, shape: impl Into<Vec<usize>>, values: &[f64]) -> Tensor {
        let shape: Vec<usize> = shape.into();
        let mut out = Vec::with_capacity(values.len() * dtype.size());
        for &v in values {
            write_f64_as(dtype, v, &mut out);
        }
        Tensor { ty: TensorType::new(dtype, shape), data: Bytes::from(out) }
    }

    pub fn zeros(ty: TensorType) -> Tensor {
        let n = ty.byte_size().expect("zeros of absurd size");
        Tensor { ty, data: Bytes::from(vec![0u8; n]) }
    }

    pub fn ty(&self) -> &TensorType {
        &self.ty
    }
    pub fn dtype(&self) -> DType {
        self.ty.dtype
    }
    pub fn shape(&self) -> &[usize] {
        &self.ty.shape
    }
    pub fn numel(&self) -> usize {
        self.ty.numel()
    }
    pub fn bytes(&self) -> &Bytes {
        &self.data
    }

    /// Same data, new shape (element count must match).
    pub fn reshaped(&self, shape: Vec<usize>) -> Tensor {
        assert_eq!(shape.iter().product::<usize>(), self.numel());
        Tensor { ty: TensorType::new(self.ty.dtype, shape), data: self.data.clone() }
    }

    /// Typed copy of the elements; panics if `T` is not the tensor's dtype.
    pub fn to_vec<T: Element>(&self) -> Vec<T> {
        assert_eq!(T::DTYPE, self.ty.dtype, "tensor dtype mismatch");
        let w = T::DTYPE.size();
        self.data.chunks_exact(w).map(T::read_le).collect()
    }

    /// Every element widened to f64 (exact for all dtypes but i64/u64 beyond 2^53).
    pub fn to_f64_vec(&self) -> Vec<f64> {
        let w = self.ty.dtype.size();
        self.data.chunks_exact(w).map(|b| read_f64_from(self.ty.dtype, b)).collect()
    }

    /// Every element as i64 (floats truncate); what shape-carrying tensors need.
    pub fn to_i64_vec(&self) -> Vec<i64> {
        match self.ty.dtype {
            DType::I64 => self.to_vec::<i64>(),
            DType::U64 => self.to_vec::<u64>().into_iter().map(|v| v as i64).collect(),
            _ => self.to_f64_vec().into_iter().map(|v| v as i64).collect(),
        }
    }
}

fn read_f64_from(d: DType, b: &[u8]) -> f64 {
    match d {
        DType::F32 => <f32 as Element>::read_le(b) as f64,
        DType::F64 => <f64 as Element>::read_le(b),
        DType::I8 => <i8 as Element>::read_le(b) as f64,
        DType::I16 => <i16 as Element>::read_le(b) as f64,
        DType::I32 => <i32 as Element>::read_le(b) as f64,
        DType::I64 => <i64 as Element>::read_le(b) as f64,
        DType::U8 => b[0] as f64,
        DType::U16 => <u16 as Element>::read_le(b) as f64,
        DType::U32 => <u32 as Element>::read_le(b) as f64,
        DType::U64 => <u64 as Element>::read_le(b) as f64,
        DType::Bool => (b[0] != 0) as u8 as f64,
        DType::F16 => <f16 as Element>::read_le(b).to_f64(),
        DType::BF16 => <bf16 as Element>::read_le(b).to_f64(),
        d => minifloat::decode(d, b[0]) as f64,
    }
}

/// Writes `v` as one element of `d`, with Rust `as` semantics for integers
/// (saturating float-to-int, wrapping is the caller's business); the small
/// types follow `minifloat::encode` (via f32, saturating).
pub fn write_f64_as(d: DType, v: f64, out: &mut Vec<u8>) {
    match d {
        DType::F32 => (v as f32).write_le(out),
        DType::F64 => v.write_le(out),
        DType::I8 => (v as i8).write_le(out),
        DType::I16 => (v as i16).write_le(out),
        DType::I32 => (v as i32).write_le(out),
        DType::I64 => (v as i64).write_le(out),
        DType::U8 => (v as u8).write_le(out),
        DType::U16 => (v as u16).write_le(out),
        DType::U32 => (v as u32).write_le(out),
        DType::U64 => (v as u64).write_le(out),
        DType::Bool => (v != 0.0).write_le(out),
        DType::F16 => f16::from_f64(v).write_le(out),
        DType::BF16 => bf16::from_f64(v).write_le(out),
        // ONNX Cast's default (saturate = 1) for the small floats.
        d => out.push(minifloat::encode(d, v as f32, true)),
    }
}

/// Serialized as `(ty, hex)` with the little-endian bytes in hex, so the
/// textual IR round-trips every dtype exactly.
#[derive(Serialize, Deserialize)]
#[serde(rename = "Tensor")]
struct TensorRepr {
    ty: TensorType,
    hex: String,
}

impl Serialize for Tensor {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut hex = String::with_capacity(self.data.len() * 2);
        for b in self.data.iter() {
            use std::fmt::Write;
            let _ = write!(hex, "{b:02x}");
        }
        TensorRepr { ty: self.ty.clone(), hex }.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Tensor {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let r = TensorRepr::deserialize(d)?;
        if r.hex.len() % 2 != 0 || !r.hex.is_ascii() {
            return Err(serde::de::Error::custom("tensor hex has odd length"));
        }
        let bytes = (0..r.hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&r.hex[i..i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .map_err(serde::de::Error::custom)?;
        Tensor::from_bytes(r.ty, Bytes::from(bytes)).map_err(serde::de::Error::custom)
    }
}
