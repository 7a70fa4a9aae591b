//! Program constants (weights) in the object: one read-only section holding
//! every constant at an `ALIGN`-aligned offset, one local symbol each.
//!
//! Weights can be hundreds of MB, so they bypass `cranelift_module`'s
//! `DataDescription` (which wants an owned copy, then copies again into the
//! section): each constant is copied once into the section's buffer, which
//! the object writer then copies once into the output.

use crate::{CodegenError, Result};
use cranelift_module::DataId;
use cranelift_object::object::write::SymbolScope;
use cranelift_object::object::SectionKind;
use cranelift_object::ObjectProduct;
use onnxc_kernel::program::ALIGN;
use onnxc_kernel::Program;

/// Symbol of constant `i` (local to the object).
pub(crate) fn const_symbol(p: &Program, i: usize) -> String {
    format!("{}_const{i}", p.name)
}

/// Offsets of each constant in the section, and the section's size.
fn layout(p: &Program) -> Result<(Vec<usize>, usize)> {
    let mut offsets = Vec::with_capacity(p.consts.len());
    let mut end = 0usize;
    for c in &p.consts {
        let start = end.checked_next_multiple_of(ALIGN);
        let next = start.and_then(|s| s.checked_add(c.len()));
        let (Some(start), Some(next)) = (start, next) else {
            return Err(CodegenError::InvalidProgram(
                "constants exceed the address space".into(),
            ));
        };
        offsets.push(start);
        end = next;
    }
    Ok((offsets, end))
}

/// Defines the data symbols declared (as imports) by `declare_consts` in
/// the finished object, and appends a summary to the listing if asked.
pub(crate) fn place_consts(
    product: &mut ObjectProduct,
    p: &Program,
    ids: &[DataId],
    asm: Option<&mut String>,
) -> Result<()> {
    if p.consts.is_empty() {
        return Ok(());
    }
    let (offsets, size) = layout(p)?;
    let mut blob = Vec::new();
    blob.try_reserve_exact(size).map_err(|_| {
        CodegenError::InvalidProgram(format!("cannot allocate {size} bytes of constants"))
    })?;
    for (c, &off) in p.consts.iter().zip(&offsets) {
        blob.resize(off, 0);
        blob.extend_from_slice(c);
    }
    let symbols: Vec<_> = ids.iter().map(|&id| product.data_symbol(id)).collect();
    let obj = &mut product.object;
    let name = format!(".rodata.{}.consts", p.name).into_bytes();
    let section = obj.add_section(Vec::new(), name, SectionKind::ReadOnlyData);
    obj.set_section_data(section, blob, ALIGN as u64);
    for ((&sym, &off), c) in symbols.iter().zip(&offsets).zip(&p.consts) {
        // Declared as an import so the module would not define it; it is
        // ours and private to the object.
        obj.symbol_mut(sym).scope = SymbolScope::Compilation;
        obj.set_symbol_data(sym, section, off as u64, c.len() as u64);
    }
    if let Some(asm) = asm {
        for (i, (c, off)) in p.consts.iter().zip(&offsets).enumerate() {
            asm.push_str(&format!(
                "; {}: {} bytes at .consts+{off}\n",
                const_symbol(p, i),
                c.len()
            ));
        }
    }
    Ok(())
}
