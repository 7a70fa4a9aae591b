//! The KIR conversions of `onnxc_kernel::minifloat` agree bit for bit with
//! `onnxc_ir::minifloat` (itself checked against onnx/ml_dtypes): every byte
//! decoded, and many f32s (each type's values and ±1 ulp around them, and
//! pseudo-random bit patterns over the whole range) encoded with and without
//! saturation, run through the KIR interpreter. Also the 4-/2-bit ints.

use onnxc_ir::minifloat as reference;
use onnxc_ir::DType;
use onnxc_kernel::builder::*;
use onnxc_kernel::interp::run_kernel;
use onnxc_kernel::kir::Scalar;
use onnxc_kernel::minifloat;

const FLOATS: [DType; 6] =
    [DType::F8E4M3FN, DType::F8E4M3FNUZ, DType::F8E5M2, DType::F8E5M2FNUZ, DType::F4E2M1, DType::F8E8M0];

fn decode_kir(d: DType) -> Vec<f32> {
    let mut b = KernelBuilder::new("dec");
    let x = b.input(Scalar::U8);
    let y = b.output(Scalar::F32);
    b.for_loop(0, 256, |b, i| {
        let v = minifloat::to_f32(b, d, load(x, i.clone()));
        b.store(y, i, v);
    });
    let mut bufs = vec![(0..=255u8).collect(), vec![0u8; 256 * 4]];
    run_kernel(&b.finish(), &mut bufs).unwrap();
    bufs[1].chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()
}

fn encode_kir(d: DType, xs: &[f32], saturate: bool) -> Vec<u8> {
    let mut b = KernelBuilder::new("enc");
    let x = b.input(Scalar::F32);
    let y = b.output(Scalar::U8);
    b.for_loop(0, xs.len() as i64, |b, i| {
        let v = b.let_(load(x, i.clone()));
        let r = minifloat::from_f32(b, d, v, saturate);
        b.store(y, i, r);
    });
    let mut bufs = vec![xs.iter().flat_map(|v| v.to_le_bytes()).collect(), vec![0u8; xs.len()]];
    run_kernel(&b.finish(), &mut bufs).unwrap();
    bufs.pop().unwrap()
}

/// Each type's values, their neighbours one f32 ulp away, the midpoints
/// (ties), specials, and xorshift bit patterns.
fn inputs() -> Vec<f32> {
    let mut xs = vec![0.0, -0.0, f32::INFINITY, f32::NEG_INFINITY, f32::NAN, -f32::NAN, f32::MAX, f32::MIN_POSITIVE];
    for d in FLOATS {
        let mut vals: Vec<f32> = (0..=255u8).map(|c| reference::decode(d, c)).filter(|v| v.is_finite()).collect();
        vals.sort_by(f32::total_cmp);
        for w in vals.windows(2) {
            xs.push((w[0] + w[1]) / 2.0);
        }
        for v in vals {
            xs.extend([v, f32::from_bits(v.to_bits() + 1), f32::from_bits(v.to_bits().wrapping_sub(1)), v * 1.5, -v]);
        }
    }
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..100_000 {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        xs.push(f32::from_bits(s as u32));
    }
    xs
}

#[test]
fn decode_matches_reference_for_every_byte() {
    for d in FLOATS {
        for (c, got) in decode_kir(d).into_iter().enumerate() {
            let want = reference::decode(d, c as u8);
            assert_eq!(got.to_bits(), want.to_bits(), "{d} decode({c:#x}): {got} vs {want}");
        }
    }
}

#[test]
fn encode_matches_reference() {
    let xs = inputs();
    for d in FLOATS {
        for saturate in [true, false] {
            let got = encode_kir(d, &xs, saturate);
            for (x, g) in xs.iter().zip(got) {
                let want = reference::encode(d, *x, saturate);
                assert_eq!(g, want, "{d} encode({x:e} = {:#010x}, saturate {saturate})", x.to_bits());
            }
        }
    }
}

#[test]
fn sub_byte_ints_match_reference() {
    for d in [DType::I4, DType::U4, DType::I2, DType::U2] {
        let buf = if d.is_signed_int() { Scalar::I8 } else { Scalar::U8 };
        let vals: Vec<i32> = (-300..300).chain([i32::MIN, i32::MAX]).collect();
        let mut b = KernelBuilder::new("int");
        let x = b.input(Scalar::I32);
        let y = b.output(buf);
        let z = b.output(Scalar::I32);
        b.for_loop(0, vals.len() as i64, |b, i| {
            let v = minifloat::int_from_i32(d, load(x, i.clone()), buf);
            let v = b.let_(v);
            b.store(y, i.clone(), v.clone());
            b.store(z, i, minifloat::int_to_i32(d, v));
        });
        let mut bufs =
            vec![vals.iter().flat_map(|v| v.to_le_bytes()).collect(), vec![0u8; vals.len()], vec![0u8; vals.len() * 4]];
        run_kernel(&b.finish(), &mut bufs).unwrap();
        for (i, &v) in vals.iter().enumerate() {
            let byte = reference::int_encode(d, v);
            assert_eq!(bufs[1][i], byte, "{d} encode {v}");
            let back = i32::from_le_bytes(bufs[2][i * 4..i * 4 + 4].try_into().unwrap());
            assert_eq!(back, reference::int_decode(d, byte), "{d} decode {byte:#x}");
        }
    }
}
