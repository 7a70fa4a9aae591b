//! Lowering of the index family.

use super::*;

pub(super) fn lower(cx: &mut Cx, n: &Node) -> Result<(), LowerError> {
    Err(cx.unsupported(format!("no lowering for {}", n.op.onnx_name())))
}
