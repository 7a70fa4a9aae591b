//! A minimal writer for GNU `ar` archives holding one object file, with the
//! symbol index that GNU ld and lld require. Written here rather than calling
//! the system `ar` so that cross builds need no target binutils.

/// 60-byte member header: name/, mtime, uid, gid, mode, size, magic.
fn header(out: &mut Vec<u8>, name: &str, size: usize) {
    let h = format!("{name:<16}{:<12}{:<6}{:<6}{:<8}{size:<10}`\n", 0, 0, 0, 644);
    debug_assert_eq!(h.len(), 60);
    out.extend_from_slice(h.as_bytes());
}

/// An archive with one member `member` (at most 15 bytes) holding `object`;
/// `symbols` are the global symbols it defines, for the index.
pub fn single_object(member: &str, object: &[u8], symbols: &[String]) -> Vec<u8> {
    let names_len: usize = symbols.iter().map(|s| s.len() + 1).sum();
    let index_len = 4 + 4 * symbols.len() + names_len;
    let index_padded = index_len + index_len % 2;
    // Offsets in the index are from the start of the file to the member header.
    let object_offset = 8 + 60 + index_padded;
    let offset = u32::try_from(object_offset).unwrap_or(u32::MAX);
    let count = u32::try_from(symbols.len()).unwrap_or(u32::MAX);

    let mut out = Vec::with_capacity(object_offset + 60 + object.len() + 1);
    out.extend_from_slice(b"!<arch>\n");
    header(&mut out, "/", index_len);
    out.extend_from_slice(&count.to_be_bytes());
    for _ in symbols {
        out.extend_from_slice(&offset.to_be_bytes());
    }
    for s in symbols {
        out.extend_from_slice(s.as_bytes());
        out.push(0);
    }
    if index_len % 2 == 1 {
        out.push(b'\n');
    }
    header(&mut out, &format!("{member}/"), object.len());
    out.extend_from_slice(object);
    if object.len() % 2 == 1 {
        out.push(b'\n');
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn layout() {
        let a = super::single_object("m.o", b"abc", &["m_run".into()]);
        assert!(a.starts_with(b"!<arch>\n/               0"));
        // index: 4 + 4 + 6 = 14 bytes (even), object header follows at 8 + 60 + 14.
        assert_eq!(&a[68..72], &1u32.to_be_bytes());
        assert_eq!(&a[72..76], &82u32.to_be_bytes());
        assert_eq!(&a[82..86], b"m.o/");
        assert_eq!(a.len(), 82 + 60 + 4);
    }
}
