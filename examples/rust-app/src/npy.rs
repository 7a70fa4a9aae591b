//! Just enough of the .npy format to read a little-endian float32 array.

/// The values of a float32 .npy file (any shape, C order).
pub fn read_f32(path: &str) -> Result<Vec<f32>, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("not an .npy file".into());
    }
    // Version 1 has a 2-byte header length, versions 2 and 3 a 4-byte one.
    let (len, start) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        _ if bytes.len() >= 12 => (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12),
        _ => return Err("truncated .npy header".into()),
    };
    let header = bytes.get(start..start + len).ok_or("truncated .npy header")?;
    let header = String::from_utf8_lossy(header);
    if !header.contains("'<f4'") || header.contains("'fortran_order': True") {
        return Err(format!("expected a C-order float32 array, header is {}", header.trim()));
    }
    let body = &bytes[start + len..];
    if body.len() % 4 != 0 {
        return Err("data is not a whole number of float32 values".into());
    }
    Ok(body.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}
