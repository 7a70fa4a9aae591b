//! Reading and writing NumPy `.npy` files as IR tensors (C order, little
//! endian), for `onnxc run` and the test harness.

use bytes::Bytes;
use onnxc_ir::{DType, Tensor, TensorType};

#[derive(Debug, thiserror::Error)]
#[error("npy: {0}")]
pub struct NpyError(pub String);

fn err<T>(m: impl Into<String>) -> Result<T, NpyError> {
    Err(NpyError(m.into()))
}

fn descr_dtype(descr: &str) -> Option<DType> {
    Some(match descr {
        "<f4" => DType::F32,
        "<f8" => DType::F64,
        "<f2" => DType::F16,
        "|i1" | "<i1" => DType::I8,
        "<i2" => DType::I16,
        "<i4" => DType::I32,
        "<i8" => DType::I64,
        "|u1" | "<u1" => DType::U8,
        "<u2" => DType::U16,
        "<u4" => DType::U32,
        "<u8" => DType::U64,
        "|b1" => DType::Bool,
        _ => return None,
    })
}

fn dtype_descr(d: DType) -> Option<&'static str> {
    Some(match d {
        DType::F32 => "<f4",
        DType::F64 => "<f8",
        DType::F16 => "<f2",
        DType::I8 => "|i1",
        DType::I16 => "<i2",
        DType::I32 => "<i4",
        DType::I64 => "<i8",
        DType::U8 => "|u1",
        DType::U16 => "<u2",
        DType::U32 => "<u4",
        DType::U64 => "<u8",
        DType::Bool => "|b1",
        DType::BF16 => return None,
        // numpy has no descr for these: the raw bytes, as the conformance
        // generator stores them (int4/int2 as int8, the others as uint8).
        DType::I4 | DType::I2 => "|i1",
        _ => "|u1",
    })
}

/// Value of `'key': <value>` in the header dict (no nested dicts in npy headers).
fn header_field<'a>(h: &'a str, key: &str) -> Option<&'a str> {
    let start = h.find(&format!("'{key}':"))? + key.len() + 3;
    let rest = h[start..].trim_start();
    let end = if rest.starts_with('(') {
        rest.find(')')? + 1
    } else {
        rest.find([',', '}'])?
    };
    Some(rest[..end].trim())
}

/// Parses an .npy file's bytes into a tensor.
pub fn read(data: &[u8]) -> Result<Tensor, NpyError> {
    if data.len() < 10 || &data[..6] != b"\x93NUMPY" {
        return err("not an .npy file (bad magic)");
    }
    let (hlen, hstart): (usize, usize) = match data[6] {
        1 => (u16::from_le_bytes([data[8], data[9]]) as usize, 10),
        2 | 3 if data.len() >= 12 => (u32::from_le_bytes([data[8], data[9], data[10], data[11]]) as usize, 12),
        v => return err(format!("unsupported .npy version {v}")),
    };
    let hend = hstart.checked_add(hlen).filter(|&e| e <= data.len()).ok_or(NpyError("truncated header".into()))?;
    let header = std::str::from_utf8(&data[hstart..hend]).map_err(|_| NpyError("header is not UTF-8".into()))?;
    let descr = header_field(header, "descr").ok_or(NpyError("header has no descr".into()))?;
    let descr = descr.trim_matches(|c| c == '\'' || c == '"');
    let dtype = descr_dtype(descr).ok_or_else(|| NpyError(format!("unsupported dtype {descr}")))?;
    if header_field(header, "fortran_order") != Some("False") {
        return err("Fortran-order arrays are not supported");
    }
    let shape_s = header_field(header, "shape").ok_or(NpyError("header has no shape".into()))?;
    let shape = shape_s
        .trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().map_err(|_| NpyError(format!("bad dim `{s}`"))))
        .collect::<Result<Vec<_>, _>>()?;
    let ty = TensorType::new(dtype, shape);
    Tensor::from_bytes(ty, Bytes::copy_from_slice(&data[hend..])).map_err(|e| NpyError(e.to_string()))
}

/// Serializes a tensor as an .npy (version 1.0) file.
pub fn write(t: &Tensor) -> Result<Vec<u8>, NpyError> {
    let descr = dtype_descr(t.dtype()).ok_or_else(|| NpyError(format!("{} has no .npy dtype", t.dtype())))?;
    let dims: Vec<String> = t.shape().iter().map(|d| d.to_string()).collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // Pad so the data starts at a multiple of 64 bytes, as numpy does.
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat(total.div_ceil(64) * 64 - total));
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(t.bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let t = Tensor::from_vec(vec![2, 3], vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let back = read(&write(&t).unwrap()).unwrap();
        assert_eq!(back, t);
        let s = Tensor::scalar(7i64);
        assert_eq!(read(&write(&s).unwrap()).unwrap(), s);
    }

    #[test]
    fn rejects_garbage() {
        assert!(read(b"hello").is_err());
        assert!(read(b"\x93NUMPY\x01\x00\xff\xff{").is_err());
    }
}
