//! `TensorProto` → `Tensor` for every storage form: `raw_data` (zero-copy
//! slice of the model buffer), the typed repeated fields, and external data
//! files next to the model.

use crate::error::FrontendError;
use crate::proto::{tensor_proto, TensorProto};
use bytes::Bytes;
use onnxc_ir::{minifloat, DType, Tensor, TensorType};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Component, Path};

/// Above this a tensor is considered absurd (a corrupt dim, not a real weight);
/// refusing it early avoids huge allocations later in the compiler.
pub const MAX_TENSOR_BYTES: usize = 1 << 36;

/// Maps an ONNX element type code onto the IR, or explains why not.
pub fn dtype_from_code(code: i32, what: &str) -> Result<DType, FrontendError> {
    DType::from_onnx_code(code).ok_or_else(|| {
        let name = tensor_proto::DataType::try_from(code)
            .map(|d| d.as_str_name().to_string())
            .unwrap_or_else(|_| format!("code {code}"));
        FrontendError::Invalid(format!("{what}: element type {name} is not supported"))
    })
}

/// Converts ONNX dims (i64) to a static shape, rejecting negative dims and
/// sizes that overflow or exceed `MAX_TENSOR_BYTES`.
pub fn checked_type(dtype: DType, dims: &[i64], what: &str) -> Result<TensorType, FrontendError> {
    let mut shape = Vec::with_capacity(dims.len().min(64));
    for &d in dims {
        if d < 0 {
            return Err(FrontendError::Invalid(format!("{what}: negative dim {d} in {dims:?}")));
        }
        shape.push(usize::try_from(d).map_err(|_| {
            FrontendError::Invalid(format!("{what}: dim {d} does not fit this machine"))
        })?);
    }
    let ty = TensorType::new(dtype, shape);
    match ty.byte_size() {
        Some(n) if n <= MAX_TENSOR_BYTES => Ok(ty),
        _ => Err(FrontendError::Invalid(format!("{what}: tensor {ty} is absurdly large"))),
    }
}

/// Decodes a tensor. `base_dir` is the model's directory, needed for external data.
pub fn tensor_from_proto(
    t: &TensorProto,
    base_dir: Option<&Path>,
) -> Result<Tensor, FrontendError> {
    let name = t.name.clone().unwrap_or_default();
    let what = format!("tensor `{name}`");
    if t.segment.is_some() {
        return Err(FrontendError::Invalid(format!("{what}: segmented tensors are not supported")));
    }
    let dtype = dtype_from_code(t.data_type.unwrap_or(0), &what)?;
    let ty = checked_type(dtype, &t.dims, &what)?;
    let external = t.data_location == Some(tensor_proto::DataLocation::External as i32);
    let data = if external {
        read_external(t, &ty, base_dir, &name)?
    } else if let Some(raw) = t.raw_data.as_ref().filter(|r| !r.is_empty() || ty.numel() == 0) {
        raw.clone()
    } else {
        typed_fields(t, &ty, &what)?
    };
    let data = unpack_sub_byte(&ty, data, &what)?;
    Tensor::from_bytes(ty, data).map_err(|e| FrontendError::Invalid(format!("{what}: {e}")))
}

/// 4-bit and 2-bit elements are stored packed (two or four per byte, first
/// element in the low bits); the IR keeps one element per byte.
fn unpack_sub_byte(ty: &TensorType, data: Bytes, what: &str) -> Result<Bytes, FrontendError> {
    let d = ty.dtype;
    if d.bits() >= 8 {
        return Ok(data);
    }
    let n = ty.numel();
    let want = minifloat::packed_len(d, n);
    if data.len() != want {
        return Err(FrontendError::Invalid(format!(
            "{what}: packed {ty} needs {want} bytes, the tensor stores {}",
            data.len()
        )));
    }
    let out = minifloat::unpack(d, &data, n)
        .ok_or_else(|| FrontendError::Invalid(format!("{what}: packed data too short for {ty}")))?;
    Ok(Bytes::from(out))
}

/// Packs the typed repeated field that the ONNX spec assigns to `ty.dtype`.
fn typed_fields(t: &TensorProto, ty: &TensorType, what: &str) -> Result<Bytes, FrontendError> {
    let n = ty.numel();
    let d = ty.dtype;
    // Check the element count before allocating: it is bounded by the
    // decoded message, so a huge dim with little data cannot allocate much.
    let have = match d {
        DType::F32 => t.float_data.len(),
        DType::F64 => t.double_data.len(),
        DType::I64 => t.int64_data.len(),
        DType::U32 | DType::U64 => t.uint64_data.len(),
        _ => t.int32_data.len(),
    };
    // Each int32 of a 4-bit (2-bit) tensor holds one packed byte of two (four) elements.
    let n = if d.bits() < 8 { minifloat::packed_len(d, n) } else { n };
    if have != n {
        return Err(FrontendError::Invalid(format!(
            "{what}: type {ty} needs {n} elements, the tensor stores {have}"
        )));
    }
    let mut out = Vec::with_capacity(n * d.size());
    match d {
        DType::F32 => t.float_data.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
        DType::F64 => t.double_data.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
        DType::I64 => t.int64_data.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
        DType::U64 => t.uint64_data.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
        DType::U32 => {
            t.uint64_data.iter().for_each(|&v| out.extend_from_slice(&(v as u32).to_le_bytes()))
        }
        // int32_data holds the narrower ints, bool, and the bit patterns of
        // f16/bf16 in the low 16 bits (per onnx.proto); truncation is the spec.
        DType::I32 => t.int32_data.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
        DType::I16 | DType::U16 | DType::F16 | DType::BF16 => {
            t.int32_data.iter().for_each(|&v| out.extend_from_slice(&(v as u16).to_le_bytes()))
        }
        DType::I8 | DType::U8 => t.int32_data.iter().for_each(|&v| out.push(v as u8)),
        DType::Bool => t.int32_data.iter().for_each(|&v| out.push((v != 0) as u8)),
        // float8 bit patterns one per int32; packed 4-/2-bit bytes (unpacked by the caller).
        _ => t.int32_data.iter().for_each(|&v| out.push(v as u8)),
    }
    Ok(Bytes::from(out))
}

fn ext_err(tensor: &str, msg: impl Into<String>) -> FrontendError {
    FrontendError::ExternalData { tensor: tensor.to_string(), msg: msg.into() }
}

/// Reads `location`/`offset`/`length` from a file under `base_dir`, refusing
/// paths that could escape it (absolute, `..`, symlinks out).
fn read_external(
    t: &TensorProto,
    ty: &TensorType,
    base_dir: Option<&Path>,
    name: &str,
) -> Result<Bytes, FrontendError> {
    let (mut location, mut offset, mut length) = (None, 0u64, None);
    for kv in &t.external_data {
        let v = kv.value.as_deref().unwrap_or("");
        let parse =
            |v: &str| v.parse::<u64>().map_err(|_| ext_err(name, format!("bad number `{v}`")));
        match kv.key.as_deref().unwrap_or("") {
            "location" => location = Some(v.to_string()),
            "offset" => offset = parse(v)?,
            "length" => length = Some(parse(v)?),
            _ => {} // checksum and unknown keys carry no layout information
        }
    }
    let location = location.ok_or_else(|| ext_err(name, "no `location` key"))?;
    let base = base_dir.ok_or_else(|| {
        ext_err(name, "the model was not loaded from a file, so external data cannot be located")
    })?;
    let rel = Path::new(&location);
    if location.is_empty()
        || !rel.components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(ext_err(
            name,
            format!("location `{location}` must be a relative path inside the model's directory"),
        ));
    }
    let path = base.join(rel);
    let io = |e: std::io::Error| FrontendError::Io { path: path.clone(), source: e };
    // Canonicalizing both sides catches symlinks that lead out of the directory.
    let canon_base = base
        .canonicalize()
        .map_err(|e| FrontendError::Io { path: base.to_path_buf(), source: e })?;
    let canon = path.canonicalize().map_err(io)?;
    if !canon.starts_with(&canon_base) {
        return Err(ext_err(name, format!("location `{location}` escapes the model's directory")));
    }
    let mut file = std::fs::File::open(&canon).map_err(io)?;
    let file_len = file.metadata().map_err(io)?.len();
    let want = match ty.dtype.bits() {
        b if b < 8 => minifloat::packed_len(ty.dtype, ty.numel()),
        _ => ty.byte_size().unwrap_or(usize::MAX),
    } as u64;
    let length = length.unwrap_or_else(|| file_len.saturating_sub(offset));
    if length != want {
        return Err(ext_err(
            name,
            format!("length {length} does not match type {ty} ({want} bytes)"),
        ));
    }
    match offset.checked_add(length) {
        Some(end) if end <= file_len => {}
        _ => {
            return Err(ext_err(
                name,
                format!("offset {offset} + length {length} is past the end of `{location}` ({file_len} bytes)"),
            ))
        }
    }
    file.seek(SeekFrom::Start(offset)).map_err(io)?;
    let mut buf = vec![0u8; length as usize];
    file.read_exact(&mut buf).map_err(io)?;
    Ok(Bytes::from(buf))
}
