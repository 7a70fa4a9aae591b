//! `onnxc_ir::minifloat` against what onnx/ml_dtypes compute
//! (`tests/data/minifloat_golden.bin`, from `scripts/gen_minifloat_golden.py`):
//! every byte decoded, and ~8,700 f32s (every value of each type, the ties
//! between neighbours and one ulp either side, random bit patterns) encoded
//! with and without saturation, bit for bit (NaN patterns compare as NaN).

use onnxc_ir::minifloat::{self, int_decode, int_encode, unpack};
use onnxc_ir::{DType, Tensor, TensorType};

const TYPES: [DType; 6] =
    [DType::F8E4M3FN, DType::F8E4M3FNUZ, DType::F8E5M2, DType::F8E5M2FNUZ, DType::F4E2M1, DType::F8E8M0];

struct Golden {
    inputs: Vec<f32>,
    /// Per type: decode of 0..=255, saturating encode, non-saturating encode.
    per_type: Vec<(Vec<f32>, Vec<u8>, Vec<u8>)>,
}

fn golden() -> Golden {
    let b = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/minifloat_golden.bin")).unwrap();
    let n = u32::from_le_bytes(b[..4].try_into().unwrap()) as usize;
    let f32s = |s: &[u8]| s.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect::<Vec<_>>();
    let inputs = f32s(&b[4..4 + 4 * n]);
    let mut at = 4 + 4 * n;
    let mut per_type = Vec::new();
    for _ in TYPES {
        let dec = f32s(&b[at..at + 1024]);
        at += 1024;
        let sat = b[at..at + n].to_vec();
        let nosat = b[at + n..at + 2 * n].to_vec();
        at += 2 * n;
        per_type.push((dec, sat, nosat));
    }
    assert_eq!(at, b.len());
    Golden { inputs, per_type }
}

fn same_value(d: DType, a: u8, e: u8) -> bool {
    a == e || (minifloat::decode(d, a).is_nan() && minifloat::decode(d, e).is_nan())
}

#[test]
fn decode_matches_ml_dtypes_for_every_byte() {
    let g = golden();
    for (d, (dec, _, _)) in TYPES.iter().zip(&g.per_type) {
        // float4 has 16 codes; ml_dtypes reads only the low nibble too.
        let codes = if *d == DType::F4E2M1 { 16 } else { 256 };
        for c in 0..codes {
            let (a, e) = (minifloat::decode(*d, c as u8), dec[c]);
            assert!(a.to_bits() == e.to_bits() || (a.is_nan() && e.is_nan()), "{d} decode({c:#x}) = {a}, want {e}");
        }
    }
}

#[test]
fn encode_matches_onnx_reference() {
    let g = golden();
    for (d, (_, sat, nosat)) in TYPES.iter().zip(&g.per_type) {
        for (i, &x) in g.inputs.iter().enumerate() {
            for (saturate, want) in [(true, sat[i]), (false, nosat[i])] {
                let got = minifloat::encode(*d, x, saturate);
                assert!(
                    same_value(*d, got, want),
                    "{d} encode({x:e} = {:#010x}, saturate {saturate}) = {got:#04x}, want {want:#04x}",
                    x.to_bits()
                );
            }
        }
    }
}

#[test]
fn sub_byte_ints_wrap_and_sign_extend() {
    assert_eq!(int_decode(DType::I4, 0x0f), -1);
    assert_eq!(int_decode(DType::I4, 0x08), -8);
    assert_eq!(int_decode(DType::U4, 0x0f), 15);
    assert_eq!(int_decode(DType::I2, 0x02), -2);
    assert_eq!(int_decode(DType::U2, 0x03), 3);
    assert_eq!(int_encode(DType::I4, -9), 0x07);
    assert_eq!(int_encode(DType::U4, -1), 0x0f);
    assert_eq!(int_encode(DType::I2, -3), 0x01);
    assert_eq!(int_encode(DType::U2, 7), 0x03);
    for v in -8..8 {
        assert_eq!(int_decode(DType::I4, int_encode(DType::I4, v)), v);
    }
}

#[test]
fn unpack_low_bits_first() {
    assert_eq!(unpack(DType::I4, &[0x21, 0x03], 3), Some(vec![1, 2, 3]));
    assert_eq!(unpack(DType::U2, &[0b11_10_01_00, 0b01], 5), Some(vec![0, 1, 2, 3, 1]));
    assert_eq!(unpack(DType::U4, &[0x21], 3), None);
    assert_eq!(minifloat::packed_len(DType::I4, 5), 3);
    assert_eq!(minifloat::packed_len(DType::U2, 5), 2);
}

#[test]
fn tensors_of_small_types_read_as_values() {
    let t = Tensor::from_bytes(TensorType::new(DType::I4, vec![3]), vec![0x0f, 0x07, 0x08].into()).unwrap();
    assert_eq!(t.to_f64_vec(), vec![-1.0, 7.0, -8.0]);
    let f = Tensor::from_f64(DType::F8E4M3FN, vec![3], &[1.0, 1000.0, -0.5]);
    assert_eq!(f.bytes().as_ref(), &[0x38, 0x7e, 0xb0]);
    assert_eq!(f.to_f64_vec(), vec![1.0, 448.0, -0.5]);
    assert_eq!(DType::from_onnx_code(26), Some(DType::I2));
    assert_eq!(DType::from_name("f8e5m2fnuz"), Some(DType::F8E5M2FNUZ));
}

#[test]
fn textual_ir_round_trips_small_types() {
    use onnxc_ir::text::{parse, print};
    use onnxc_ir::{Graph, Op};
    let mut g = Graph::new();
    let x = g.add_input("x", TensorType::new(DType::F32, vec![2]));
    let w = g.add_const("w", Tensor::from_bytes(TensorType::new(DType::I4, vec![2]), vec![0x0f, 0x07].into()).unwrap());
    let y = g.add_node("c", Op::CastNoSaturate { to: DType::F8E5M2 }, vec![Some(x)], &["y".to_string()]).unwrap()[0];
    let z = g.add_node("d", Op::Cast { to: DType::F4E2M1 }, vec![Some(w)], &["z".to_string()]).unwrap()[0];
    g.outputs = vec![y, z];
    let text = print(&g);
    assert!(text.contains("f8e5m2[2]") && text.contains("i4[2]") && text.contains("f4e2m1[2]"), "{text}");
    assert_eq!(parse(&text).unwrap(), g);
    // Evaluated: int4 [-1, 7] as float4 (saturating at 6).
    let out = onnxc_ir::eval::eval_graph(&g, &[Tensor::from_vec(vec![2], vec![1e6f32, -0.3])]).unwrap();
    assert_eq!(out[0].bytes().as_ref(), &[0x7c, 0xb5]);
    assert_eq!(out[1].to_f64_vec(), vec![-1.0, 6.0]);
}
