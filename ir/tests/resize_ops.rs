//! Resize family: shape rules and reference semantics on hand-checked values.

use onnxc_ir::eval::eval_op;
use onnxc_ir::infer::{infer, InputInfo};
use onnxc_ir::op::{AspectPolicy, CoordMode, NearestMode, ResizeAttrs, ResizeMode, Window};
use onnxc_ir::{DType, Op, Tensor, TensorType};

fn attrs(mode: ResizeMode, coord: CoordMode) -> ResizeAttrs {
    ResizeAttrs {
        mode,
        coord,
        nearest: NearestMode::RoundPreferFloor,
        cubic_coeff_a: -0.75,
        exclude_outside: false,
        extrapolation_value: 0.0,
        antialias: false,
        aspect: AspectPolicy::Stretch,
        axes: None,
    }
}

fn run(op: &Op, inputs: &[Option<&Tensor>]) -> Result<(TensorType, Tensor), String> {
    let infos: Vec<_> = inputs
        .iter()
        .map(|x| {
            x.map(|x| InputInfo {
                ty: x.ty(),
                value: Some(x),
            })
        })
        .collect();
    let ty = infer(op, &infos, 1).map_err(|e| e.0)?.remove(0);
    let y = eval_op(op, inputs, std::slice::from_ref(&ty))
        .map_err(|e| e.0)?
        .remove(0);
    assert_eq!(y.ty(), &ty, "shape rule and evaluator disagree");
    Ok((ty, y))
}

fn f32s(shape: &[usize], v: Vec<f32>) -> Tensor {
    Tensor::from_vec(shape.to_vec(), v)
}

#[test]
fn nearest_upsample_repeats() {
    let x = f32s(&[1, 1, 2, 2], vec![1.0, 2.0, 3.0, 4.0]);
    let s = f32s(&[4], vec![1.0, 1.0, 2.0, 3.0]);
    let mut a = attrs(ResizeMode::Nearest, CoordMode::Asymmetric);
    a.nearest = NearestMode::Floor;
    let (ty, y) = run(&Op::Resize(a), &[Some(&x), None, Some(&s), None]).unwrap();
    assert_eq!(ty.shape, vec![1, 1, 4, 6]);
    assert_eq!(&y.to_vec::<f32>()[..6], &[1.0, 1.0, 1.0, 2.0, 2.0, 2.0]);
}

#[test]
fn linear_half_pixel_and_align_corners() {
    let x = f32s(&[1, 1, 1, 2], vec![1.0, 3.0]);
    let s = f32s(&[4], vec![1.0, 1.0, 1.0, 2.0]);
    let (_, y) = run(
        &Op::Resize(attrs(ResizeMode::Linear, CoordMode::HalfPixel)),
        &[Some(&x), None, Some(&s), None],
    )
    .unwrap();
    assert_eq!(y.to_vec::<f32>(), vec![1.0, 1.5, 2.5, 3.0]);
    let sizes = Tensor::from_vec(vec![4], vec![1i64, 1, 1, 3]);
    let (_, y) = run(
        &Op::Resize(attrs(ResizeMode::Linear, CoordMode::AlignCorners)),
        &[Some(&x), None, None, Some(&sizes)],
    )
    .unwrap();
    assert_eq!(y.to_vec::<f32>(), vec![1.0, 2.0, 3.0]);
}

#[test]
fn sizes_policies_axes_and_errors() {
    let x = f32s(&[1, 1, 2, 4], vec![0.0; 8]);
    let sizes = Tensor::from_vec(vec![2], vec![4i64, 4]);
    let mut a = attrs(ResizeMode::Nearest, CoordMode::HalfPixel);
    a.axes = Some(vec![2, 3]);
    a.aspect = AspectPolicy::NotLarger;
    let (ty, _) = run(
        &Op::Resize(a.clone()),
        &[Some(&x), None, None, Some(&sizes)],
    )
    .unwrap();
    assert_eq!(ty.shape, vec![1, 1, 2, 4]);
    a.aspect = AspectPolicy::NotSmaller;
    let (ty, _) = run(
        &Op::Resize(a.clone()),
        &[Some(&x), None, None, Some(&sizes)],
    )
    .unwrap();
    assert_eq!(ty.shape, vec![1, 1, 4, 8]);
    // Both or neither of scales and sizes, or a wrong length, are errors.
    let s = f32s(&[2], vec![1.0, 1.0]);
    assert!(run(
        &Op::Resize(a.clone()),
        &[Some(&x), None, Some(&s), Some(&sizes)]
    )
    .is_err());
    assert!(run(&Op::Resize(a.clone()), &[Some(&x), None, None, None]).is_err());
    let s3 = f32s(&[3], vec![1.0, 1.0, 1.0]);
    assert!(run(&Op::Resize(a), &[Some(&x), None, Some(&s3), None]).is_err());
}

#[test]
fn tf_crop_and_resize_extrapolates() {
    let x = f32s(&[1, 1, 2, 2], vec![1.0, 2.0, 3.0, 4.0]);
    let roi = f32s(&[8], vec![0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 2.0]);
    let sizes = Tensor::from_vec(vec![4], vec![1i64, 1, 1, 3]);
    let mut a = attrs(ResizeMode::Linear, CoordMode::TfCropAndResize);
    a.extrapolation_value = -1.0;
    let (_, y) = run(&Op::Resize(a), &[Some(&x), Some(&roi), None, Some(&sizes)]).unwrap();
    // Rows average (the one output row samples y = 0.5); column 2 maps to x = 2 > 1.
    assert_eq!(y.to_vec::<f32>(), vec![2.0, 3.0, -1.0]);
}

fn win(k: &[usize], s: &[usize], p: &[usize]) -> Window {
    Window {
        kernel_shape: k.to_vec(),
        strides: s.to_vec(),
        pads: p.to_vec(),
        dilations: vec![1; k.len()],
    }
}

#[test]
fn conv_transpose_shape_and_values() {
    let x = f32s(&[1, 1, 2], vec![1.0, 2.0]);
    let w = f32s(&[1, 1, 2], vec![1.0, 10.0]);
    let op = Op::ConvTranspose {
        window: win(&[2], &[2], &[0, 0]),
        group: 1,
        output_padding: vec![1],
    };
    let (ty, y) = run(&op, &[Some(&x), Some(&w), None]).unwrap();
    assert_eq!(ty.shape, vec![1, 1, 5]);
    assert_eq!(y.to_vec::<f32>(), vec![1.0, 10.0, 2.0, 20.0, 0.0]);
    let bad = f32s(&[2, 1, 2], vec![0.0; 4]);
    assert!(run(&op, &[Some(&x), Some(&bad), None]).is_err());
}

#[test]
fn lp_pool_values() {
    let x = f32s(&[1, 1, 4], vec![3.0, -4.0, 0.0, 1.0]);
    let op = Op::LpPool {
        window: win(&[2], &[2], &[0, 0]),
        p: 2,
        ceil_mode: false,
    };
    let (ty, y) = run(&op, &[Some(&x)]).unwrap();
    assert_eq!(ty, TensorType::new(DType::F32, vec![1, 1, 2]));
    assert_eq!(y.to_vec::<f32>(), vec![5.0, 1.0]);
    let bad = Op::LpPool {
        window: win(&[2], &[2], &[0, 0]),
        p: 0,
        ceil_mode: false,
    };
    assert!(run(&bad, &[Some(&x)]).is_err());
}
