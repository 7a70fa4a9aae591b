//! float8 / float4 / int4 / int2 initializers (packed storage unpacked to one
//! byte per element) and Cast's `saturate` / `round_mode` attributes.

mod common;
use common::*;
use onnxc_frontend::proto::TensorProto;
use onnxc_ir::{DType, Op};

const F8E4M3FN: i32 = 17;
const UINT4: i32 = 21;
const INT4: i32 = 22;
const FLOAT8E8M0: i32 = 24;
const UINT2: i32 = 25;

fn one(t: TensorProto) -> onnxc_ir::Tensor {
    output_const(&import(&const_model(t)).unwrap(), 0)
}

fn int32s(name: &str, elem: i32, dims: &[i64], v: &[i32]) -> TensorProto {
    TensorProto {
        name: Some(name.into()),
        data_type: Some(elem),
        dims: dims.to_vec(),
        int32_data: v.to_vec(),
        ..Default::default()
    }
}

#[test]
fn packed_raw_data_is_unpacked_low_bits_first() {
    let t = one(raw("w", INT4, &[3], vec![0x21, 0xf3]));
    assert_eq!(t.dtype(), DType::I4);
    assert_eq!(t.bytes().as_ref(), &[1, 2, 3]);
    let t = one(raw("w", UINT4, &[2, 2], vec![0xf1, 0x8e]));
    assert_eq!(t.bytes().as_ref(), &[0x1, 0xf, 0xe, 0x8]);
    assert_eq!(t.to_f64_vec(), vec![1.0, 15.0, 14.0, 8.0]);
    let t = one(raw("w", UINT2, &[5], vec![0b11_10_01_00, 0b10]));
    assert_eq!(t.bytes().as_ref(), &[0, 1, 2, 3, 2]);
    let t = one(raw("w", INT4, &[2], vec![0x8f]));
    assert_eq!(t.to_f64_vec(), vec![-1.0, -8.0]);
}

#[test]
fn int32_data_holds_float8_bits_and_packed_nibbles() {
    let t = one(int32s("w", F8E4M3FN, &[2], &[0x38, 0xb0]));
    assert_eq!(t.dtype(), DType::F8E4M3FN);
    assert_eq!(t.to_f64_vec(), vec![1.0, -0.5]);
    let t = one(int32s("w", INT4, &[3], &[0x21, 0x03]));
    assert_eq!(t.bytes().as_ref(), &[1, 2, 3]);
    let t = one(raw("w", F8E4M3FN, &[2], vec![0x7e, 0x01]));
    assert_eq!(t.to_f64_vec(), vec![448.0, 2f64.powi(-9)]);
}

#[test]
fn wrong_packed_sizes_are_errors() {
    let e = import(&const_model(raw("w", INT4, &[3], vec![0x21]))).unwrap_err().to_string();
    assert!(e.contains("needs 2 bytes"), "{e}");
    let e = import(&const_model(int32s("w", UINT4, &[4], &[1, 2, 3]))).unwrap_err().to_string();
    assert!(e.contains("needs 2"), "{e}");
}

fn cast_op(to: i32, attrs: Vec<onnxc_frontend::proto::AttributeProto>) -> Result<Op, String> {
    let mut a = vec![a_int("to", to as i64)];
    a.extend(attrs);
    let n = node("Cast", &["x"], &["y"], a);
    let m = model(21, vec![n], vec![fixed("x", F32, &[2])], vec![out("y")], vec![]);
    import(&m).map(|m| m.graph.nodes[0].op.clone()).map_err(|e| e.to_string())
}

#[test]
fn cast_saturate_and_round_mode() {
    assert_eq!(cast_op(F8E4M3FN, vec![]), Ok(Op::Cast { to: DType::F8E4M3FN }));
    assert_eq!(cast_op(F8E4M3FN, vec![a_int("saturate", 0)]), Ok(Op::CastNoSaturate { to: DType::F8E4M3FN }));
    // saturate only concerns float8 targets.
    assert_eq!(cast_op(INT4, vec![a_int("saturate", 0)]), Ok(Op::Cast { to: DType::I4 }));
    assert_eq!(cast_op(FLOAT8E8M0, vec![a_str("round_mode", "up")]), Ok(Op::Cast { to: DType::F8E8M0 }));
    let e = cast_op(FLOAT8E8M0, vec![a_str("round_mode", "nearest")]).unwrap_err();
    assert!(e.contains("round_mode"), "{e}");
}
