//! The undefined symbols of an ELF64 little-endian relocatable object (what
//! `nm -u` lists), read directly so that the conformance binary can check
//! every object it compiles for every target without spawning `nm`.
//! `tests/undefined_symbols.rs` checks this reader against `nm -u` itself.

/// Symbols a generated object may leave undefined (README: the object has
/// no undefined symbols other than memcpy/memmove/memset).
pub const ALLOWED_UNDEFINED: &[&str] = &["memcpy", "memmove", "memset"];

fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(off..off + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], off: usize) -> Option<usize> {
    usize::try_from(u64::from_le_bytes(b.get(off..off + 8)?.try_into().ok()?)).ok()
}

fn c_str(b: &[u8], off: usize) -> Option<String> {
    let tail = b.get(off..)?;
    let end = tail.iter().position(|&c| c == 0)?;
    Some(String::from_utf8_lossy(&tail[..end]).into_owned())
}

const SHT_SYMTAB: u32 = 2;
const SHN_UNDEF: u16 = 0;

/// Names of the undefined symbols, sorted and deduplicated.
pub fn undefined_symbols(obj: &[u8]) -> Result<Vec<String>, String> {
    let bad = |what: &str| format!("not a well-formed ELF64 LE object: {what}");
    if obj.get(..4) != Some(b"\x7fELF".as_slice()) || obj.get(4) != Some(&2) || obj.get(5) != Some(&1) {
        return Err(bad("header"));
    }
    let shoff = u64_at(obj, 0x28).ok_or_else(|| bad("e_shoff"))?;
    let shentsize = u16_at(obj, 0x3A).ok_or_else(|| bad("e_shentsize"))? as usize;
    let shnum = u16_at(obj, 0x3C).ok_or_else(|| bad("e_shnum"))? as usize;
    let section = |i: usize| shoff + i * shentsize;
    let mut names = Vec::new();
    for i in 0..shnum {
        let sh = section(i);
        if u32_at(obj, sh + 4).ok_or_else(|| bad("section header"))? != SHT_SYMTAB {
            continue;
        }
        let (off, size) = (u64_at(obj, sh + 24).ok_or_else(|| bad("sh_offset"))?, u64_at(obj, sh + 32).unwrap_or(0));
        let entsize = u64_at(obj, sh + 56).filter(|&e| e >= 24).unwrap_or(24);
        let strtab = section(u32_at(obj, sh + 40).ok_or_else(|| bad("sh_link"))? as usize);
        let str_off = u64_at(obj, strtab + 24).ok_or_else(|| bad("strtab"))?;
        // Entry 0 is the null symbol.
        for s in (off + entsize..off + size).step_by(entsize) {
            let name = u32_at(obj, s).ok_or_else(|| bad("symbol"))? as usize;
            let shndx = u16_at(obj, s + 6).ok_or_else(|| bad("symbol"))?;
            if shndx == SHN_UNDEF && name != 0 {
                names.push(c_str(obj, str_off + name).ok_or_else(|| bad("symbol name"))?);
            }
        }
    }
    names.sort();
    names.dedup();
    Ok(names)
}

/// `Err` naming the undefined symbols other than memcpy/memmove/memset.
pub fn check_undefined(obj: &[u8]) -> Result<(), String> {
    let extra: Vec<String> =
        undefined_symbols(obj)?.into_iter().filter(|s| !ALLOWED_UNDEFINED.contains(&s.as_str())).collect();
    if extra.is_empty() {
        Ok(())
    } else {
        Err(format!("undefined symbols besides memcpy/memmove/memset: {}", extra.join(", ")))
    }
}
