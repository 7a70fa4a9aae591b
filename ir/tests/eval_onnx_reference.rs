//! Cross-check against cases produced by the ONNX reference implementation
//! (`onnx.reference.ReferenceEvaluator`). `GENERATOR` (below) writes ~300
//! random cases as RON files; the test runs it when `python3` with `onnx`
//! is available (or reads `ONNXC_EVAL_REF`, a folder of such files) and
//! otherwise does nothing, so machines without onnx still pass.
//!
//! Known, intended differences (keep them out of generated cases):
//! - out-of-range float-to-int Cast: ONNX leaves it undefined, numpy wraps,
//!   we saturate like the kernel IR;
//! - the reference's own bugs: LRN sums channels only for `c < N`,
//!   GlobalMaxPool is wrong for rank != 4, Erf is computed in f32 for f64,
//!   and scalar results of Size and 1-D x 1-D MatMul come back as `[1]`
//!   (the spec, and we, give shape `[]`).

use onnxc_ir::eval::eval_op;
use onnxc_ir::infer::{infer, InputInfo};
use onnxc_ir::{DType, Op, Tensor, TensorType};
use serde::Deserialize;

#[derive(Deserialize)]
struct Case {
    op: Op,
    inputs: Vec<Option<Tensor>>,
    outputs: Vec<Tensor>,
    name: String,
}

fn same(got: &Tensor, want: &Tensor) -> Result<(), String> {
    if got.shape() != want.shape() || got.dtype() != want.dtype() {
        return Err(format!("type {} vs {}", got.ty(), want.ty()));
    }
    let tol = match got.dtype() {
        DType::F16 | DType::BF16 => 2e-3,
        DType::F32 => 1e-5,
        DType::F64 => 1e-12,
        _ => 0.0,
    };
    if !got.dtype().is_float() {
        return if got.bytes() == want.bytes() {
            Ok(())
        } else {
            Err(format!("{got:?} vs {want:?}"))
        };
    }
    for (i, (a, b)) in got
        .to_f64_vec()
        .into_iter()
        .zip(want.to_f64_vec())
        .enumerate()
    {
        let ok = (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= tol * (1.0 + b.abs());
        if !ok {
            return Err(format!("element {i}: {a} vs {b}"));
        }
    }
    Ok(())
}

/// Runs `check` on every case: from `ONNXC_EVAL_REF`, or freshly generated
/// (into a folder of its own per test, removed afterwards). Returns `None`
/// when there are no cases (no python3 with onnx).
fn with_cases(
    tag: &str,
    check: impl Fn(&Case) -> Result<(), String>,
) -> Option<(usize, Vec<String>)> {
    let generated = std::env::var("ONNXC_EVAL_REF").is_err();
    let dir: std::path::PathBuf = match std::env::var("ONNXC_EVAL_REF") {
        Ok(d) => d.into(),
        Err(_) => {
            let dir =
                std::env::temp_dir().join(format!("onnxc-eval-ref-{tag}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).ok()?;
            let script = dir.join("gen.py");
            std::fs::write(&script, GENERATOR).ok()?;
            let out = std::process::Command::new("python3")
                .arg(&script)
                .arg(&dir)
                .output()
                .ok()?;
            if !out.status.success() {
                let err = String::from_utf8_lossy(&out.stderr);
                eprintln!(
                    "skipping: no python3 with onnx ({})",
                    err.lines().last().unwrap_or("")
                );
                let _ = std::fs::remove_dir_all(&dir);
                return None;
            }
            dir
        }
    };
    let (mut total, mut failures) = (0, Vec::new());
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .collect();
    paths.sort();
    for path in paths
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
    {
        let text = std::fs::read_to_string(path).unwrap();
        let cases: Vec<Case> = ron::from_str(&text).unwrap();
        for (k, c) in cases.iter().enumerate() {
            total += 1;
            if let Err(e) = check(c) {
                failures.push(format!("{}#{k} {} {:?}: {e}", path.display(), c.name, c.op));
            }
        }
    }
    if generated {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Some((total, failures))
}

fn report(res: Option<(usize, Vec<String>)>) {
    let Some((total, failures)) = res else {
        return;
    };
    assert!(total > 250, "only {total} reference cases were generated");
    assert!(
        failures.is_empty(),
        "{} of {total} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn matches_onnx_reference() {
    report(with_cases("eval", |c| {
        let ins: Vec<Option<&Tensor>> = c.inputs.iter().map(|t| t.as_ref()).collect();
        let types: Vec<TensorType> = c.outputs.iter().map(|t| t.ty().clone()).collect();
        let outs = eval_op(&c.op, &ins, &types).map_err(|e| e.0)?;
        if outs.len() != c.outputs.len() {
            return Err(format!(
                "{} outputs, expected {}",
                outs.len(),
                c.outputs.len()
            ));
        }
        c.outputs
            .iter()
            .zip(&outs)
            .try_for_each(|(w, g)| same(g, w))
    }));
}

/// The shape rules must agree with the reference on every case's output
/// types (all inputs given as constants, as during folding).
#[test]
fn shape_rules_agree_with_reference() {
    report(with_cases("infer", |c| {
        let infos: Vec<Option<InputInfo<'_>>> = c
            .inputs
            .iter()
            .map(|t| {
                t.as_ref().map(|t| InputInfo {
                    ty: t.ty(),
                    value: Some(t),
                })
            })
            .collect();
        let want: Vec<TensorType> = c.outputs.iter().map(|t| t.ty().clone()).collect();
        let got = infer(&c.op, &infos, want.len()).map_err(|e| e.0)?;
        if got != want {
            return Err(format!("inferred {got:?}, reference {want:?}"));
        }
        Ok(())
    }));
}

/// Writes the cases: `python3 gen.py OUT_DIR`.
const GENERATOR: &str = r#"import sys, numpy as np, onnx
from onnx import helper, TensorProto
from onnx.reference import ReferenceEvaluator
rng = np.random.default_rng(0)
DT = {np.float32:'F32', np.float64:'F64', np.int8:'I8', np.int16:'I16', np.int32:'I32', np.int64:'I64',
      np.uint8:'U8', np.uint16:'U16', np.uint32:'U32', np.uint64:'U64', np.bool_:'Bool', np.float16:'F16'}
def ron_tensor(a):
    a = np.ascontiguousarray(a)
    return '(ty: (dtype: %s, shape: [%s]), hex: "%s")' % (DT[a.dtype.type], ','.join(map(str, a.shape)), a.tobytes().hex())
cases = []
def case(ron_op, onnx_op, inputs, attrs=None, n_out=1, domain=''):
    names = ['i%d' % k if x is not None else '' for k, x in enumerate(inputs)]
    outs = ['o%d' % k for k in range(n_out)]
    node = helper.make_node(onnx_op, names, outs, **(attrs or {}))
    ginputs = [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(x.dtype), x.shape) for n, x in zip(names, inputs) if x is not None]
    gouts = [helper.make_tensor_value_info(o, TensorProto.UNDEFINED, None) for o in outs]
    g = helper.make_graph([node], 'g', ginputs, gouts)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 21)])
    try:
        res = ReferenceEvaluator(m).run(None, {n: x for n, x in zip(names, inputs) if x is not None})
    except Exception as e:
        print('SKIP', onnx_op, e); return
    ins = ', '.join('Some(%s)' % ron_tensor(x) if x is not None else 'None' for x in inputs)
    outs_s = ', '.join(ron_tensor(np.asarray(r)) for r in res)
    cases.append('(op: %s, inputs: [%s], outputs: [%s], name: "%s")' % (ron_op, ins, outs_s, onnx_op))
f32 = lambda *s: rng.standard_normal(s).astype(np.float32)
ints = lambda dt, *s: rng.integers(-20, 20, s).astype(dt)
OUT = sys.argv[1] if len(sys.argv) > 1 else '.'
def flush(name):
    open('%s/%s.ron' % (OUT, name), 'w').write('[\n' + ',\n'.join(cases) + '\n]')
    print(name, len(cases)); cases.clear()
# elementwise
for u in ['Abs','Neg','Exp','Log','Sqrt','Reciprocal','Floor','Ceil','Round','Sign','Sin','Cos','Tan','Asin','Acos','Atan','Sinh','Cosh','Asinh','Acosh','Atanh','Erf','Relu','Sigmoid','Tanh','Softsign','Softplus','HardSwish','Mish','IsNaN','Identity']:
    x = f32(3, 4) * 2
    x[0, 0] = np.nan; x[0, 1] = 0.5; x[0,2] = -2.5
    case('Unary(%s)' % u, u, [x])
case('Unary(Abs)', 'Abs', [ints(np.int64, 5)]); case('Unary(Neg)', 'Neg', [ints(np.int32, 5)]); case('Unary(Sign)', 'Sign', [ints(np.int8, 5)])
case('Unary(Relu)', 'Relu', [ints(np.int32, 7)])
case('Unary(Not)', 'Not', [rng.random(5) > 0.5]); case('Unary(BitwiseNot)', 'BitwiseNot', [ints(np.int16, 5)])
x = f32(4, 5) * 3
for a, name, attrs in [('LeakyRelu { alpha: 0.1 }', 'LeakyRelu', {'alpha': 0.1}), ('Elu { alpha: 0.7 }', 'Elu', {'alpha': 0.7}),
    ('Selu { alpha: 1.6, gamma: 1.05 }', 'Selu', {'alpha': 1.6, 'gamma': 1.05}), ('Celu { alpha: 0.5 }', 'Celu', {'alpha': 0.5}),
    ('HardSigmoid { alpha: 0.3, beta: 0.4 }', 'HardSigmoid', {'alpha': 0.3, 'beta': 0.4}), ('ThresholdedRelu { alpha: 0.5 }', 'ThresholdedRelu', {'alpha': 0.5}),
    ('Shrink { bias: 0.2, lambd: 0.6 }', 'Shrink', {'bias': 0.2, 'lambd': 0.6}), ('Gelu { tanh_approx: true }', 'Gelu', {'approximate': 'tanh'}),
    ('Gelu { tanh_approx: false }', 'Gelu', {})]:
    case('Activation(%s)' % a.replace(' {', '(').replace(' }', ')'), name, [x], attrs)
xi = np.array([np.inf, -np.inf, 1.0, np.nan], np.float32)
case('Activation(IsInf(detect_positive: true, detect_negative: false))', 'IsInf', [xi], {'detect_negative': 0})
for b in ['Add','Sub','Mul','Div','Max','Min','Equal','Less','LessOrEqual','Greater','GreaterOrEqual']:
    case('Binary(%s)' % b, b, [f32(2, 3, 4), f32(3, 1)])
    case('Binary(%s)' % b, b, [ints(np.int64, 2, 3), ints(np.int64, 3)])
    case('Binary(%s)' % b, b, [ints(np.int32, 4), ints(np.int32, 2, 1)])
case('Binary(Div)', 'Div', [ints(np.int32, 30), np.where(ints(np.int32, 30) == 0, 3, ints(np.int32, 30)).astype(np.int32)])
case('Binary(Div)', 'Div', [rng.integers(0, 200, 10).astype(np.uint8), rng.integers(1, 20, 10).astype(np.uint8)])
nz = lambda dt, n: np.where((v := ints(dt, n)) == 0, 7, v).astype(dt)
case('Binary(Mod(fmod: false))', 'Mod', [ints(np.int64, 20), nz(np.int64, 20)])
case('Binary(Mod(fmod: true))', 'Mod', [ints(np.int32, 20), nz(np.int32, 20)], {'fmod': 1})
case('Binary(Mod(fmod: true))', 'Mod', [f32(20) * 5, f32(20) + 0.1], {'fmod': 1})
case('Binary(Pow)', 'Pow', [np.abs(f32(3, 4)), f32(4)])
case('Binary(Pow)', 'Pow', [f32(3, 4), np.array([2, 3, 0, 1], np.int64)])
case('Binary(Pow)', 'Pow', [ints(np.int64, 6), np.array([0, 1, 2, 3, 4, 5], np.int64)])
bb = lambda *s: rng.random(s) > 0.5
for b in ['And', 'Or', 'Xor']:
    case('Binary(%s)' % b, b, [bb(3, 4), bb(4)])
case('Binary(Equal)', 'Equal', [bb(3, 4), bb(4)])
u = lambda *s: rng.integers(0, 255, s).astype(np.uint8)
case('Binary(BitShiftLeft)', 'BitShift', [u(6), (u(6) % 8).astype(np.uint8)], {'direction': 'LEFT'})
case('Binary(BitShiftRight)', 'BitShift', [u(6), (u(6) % 8).astype(np.uint8)], {'direction': 'RIGHT'})
for b in ['BitwiseAnd', 'BitwiseOr', 'BitwiseXor']:
    case('Binary(%s)' % b, b, [ints(np.int32, 2, 3), ints(np.int32, 3)])
case('Binary(PRelu)', 'PRelu', [f32(2, 3, 4), f32(3, 1)])
for v in ['Sum', 'Max', 'Min', 'Mean']:
    case('Variadic(%s)' % v, v, [f32(2, 3), f32(3), f32(1, 1)])
case('Variadic(Max)', 'Max', [ints(np.int64, 2, 3), ints(np.int64, 3)])
case('Clip', 'Clip', [f32(10), np.array(-0.5, np.float32), np.array(0.5, np.float32)])
case('Clip', 'Clip', [ints(np.int32, 10), None, np.array(3, np.int32)])
case('Where', 'Where', [bb(2, 1, 3), f32(4, 3), f32(1)])
case('Cast(to: U8)', 'Cast', [np.abs(f32(10)) * 50], {'to': 2})
for to, code in [('I32', 6), ('I64', 7), ('F64', 11), ('Bool', 9), ('F16', 10), ('I8', 3)]:
    case('Cast(to: %s)' % to, 'Cast', [f32(10) * 50], {'to': code})
case('Cast(to: F32)', 'Cast', [ints(np.int64, 10)], {'to': 1})
case('Cast(to: I8)', 'Cast', [rng.integers(-1000, 1000, 10).astype(np.int32)], {'to': 3})
flush('elementwise')
def win(k, s=None, p=None, d=None):
    r = len(k); s = s or [1]*r; p = p or [0]*(2*r); d = d or [1]*r
    return '(kernel_shape: %s, strides: %s, pads: %s, dilations: %s)' % (k, s, p, d), dict(kernel_shape=k, strides=s, pads=p, dilations=d)
# nn
for xs, ws, grp, k, s, p, d in [((1,3,8,8),(4,3,3,3),1,[3,3],[1,1],[1,1,1,1],[1,1]), ((2,4,9,7),(6,2,3,2),2,[3,2],[2,1],[1,0,2,1],[1,2]),
                                ((1,2,10),(3,2,3),1,[3],[2],[2,1],[2]), ((1,2,4,5,5),(2,2,2,3,3),1,[2,3,3],[1,2,1],[0,1,1,1,0,1],[1,1,2])]:
    wr, wa = win(k, s, p, d)
    case('Conv(window: %s, group: %d)' % (wr, grp), 'Conv', [f32(*xs), f32(*ws), f32(ws[0])], dict(wa, group=grp))
wr, wa = win([3, 3], [2, 2], [1, 1, 1, 1]); x = f32(1, 2, 7, 7)
for cm in [False, True]:
    case('MaxPool(window: %s, ceil_mode: %s)' % (wr, str(cm).lower()), 'MaxPool', [x], dict(wa, ceil_mode=int(cm)), n_out=2)
    for cip in [False, True]:
        case('AveragePool(window: %s, ceil_mode: %s, count_include_pad: %s)' % (wr, str(cm).lower(), str(cip).lower()), 'AveragePool', [x], dict(wa, ceil_mode=int(cm), count_include_pad=int(cip)))
wr, wa = win([2, 2], [2, 2], [0, 0, 1, 1], [2, 1]); x = f32(1, 2, 8, 8)
case('MaxPool(window: %s, ceil_mode: true)' % wr, 'MaxPool', [x], dict(wa, ceil_mode=1))
case('AveragePool(window: %s, ceil_mode: true, count_include_pad: true)' % wr, 'AveragePool', [x], dict(wa, ceil_mode=1, count_include_pad=1))
case('GlobalAveragePool', 'GlobalAveragePool', [f32(2, 3, 4, 5)]); case('GlobalMaxPool', 'GlobalMaxPool', [f32(2, 3, 4, 2)])
case('Lrn(size: 3, alpha: 0.001, beta: 0.75, bias: 1.0)', 'LRN', [f32(5, 5, 3, 3)], dict(size=3, alpha=0.001, beta=0.75, bias=1.0))
case('BatchNormalization(epsilon: 0.001)', 'BatchNormalization', [f32(2, 3, 4), f32(3), f32(3), f32(3), np.abs(f32(3))], dict(epsilon=0.001))
case('Gemm(alpha: 0.5, beta: 2.0, trans_a: true, trans_b: true)', 'Gemm', [f32(4, 3), f32(5, 4), f32(5)], dict(alpha=0.5, beta=2.0, transA=1, transB=1))
case('Gemm(alpha: 1.0, beta: 1.0, trans_a: false, trans_b: false)', 'Gemm', [f32(3, 4), f32(4, 5), f32(3, 1)])
for a, b in [((2,1,3,4),(5,4,2)), ((4,),(2,4,3)), ((2,3,4),(4,))]:
    case('MatMul', 'MatMul', [f32(*a), f32(*b)])
case('MatMul', 'MatMul', [ints(np.int64, 3, 4), ints(np.int64, 4, 2)])
for ax in [0, 1, -1]:
    x = f32(2, 3, 4); x[0, 0, 0] = -np.inf
    case('Softmax(axis: %d)' % ax, 'Softmax', [x], dict(axis=ax))
    case('LogSoftmax(axis: %d)' % ax, 'LogSoftmax', [x], dict(axis=ax))
    case('Hardmax(axis: %d)' % ax, 'Hardmax', [np.round(x)], dict(axis=ax))
case('Dropout', 'Dropout', [f32(3, 4)], n_out=2)
flush('nn')
# shape
I = lambda *v: np.array(v, np.int64)
x = f32(2, 3, 4)
case('Reshape(allowzero: false)', 'Reshape', [x, I(0, -1, 2)])
case('Flatten(axis: -2)', 'Flatten', [x], dict(axis=-2))
case('Transpose(perm: Some([2, 0, 1]))', 'Transpose', [x], dict(perm=[2, 0, 1])); case('Transpose(perm: None)', 'Transpose', [x])
case('Squeeze', 'Squeeze', [f32(1, 3, 1), I(-1)]); case('Unsqueeze', 'Unsqueeze', [f32(3, 2), I(-1, 0)])
case('Concat(axis: 1)', 'Concat', [x, f32(2, 1, 4), f32(2, 2, 4)], dict(axis=1))
case('Shape(start: 1, end: None)', 'Shape', [x], dict(start=1)); 
case('Gather(axis: 1)', 'Gather', [x, np.array([[0, -1], [2, 1]], np.int64)], dict(axis=1))
case('Gather(axis: 0)', 'Gather', [ints(np.int64, 5), np.array(-2, np.int32)], dict(axis=0))
for st, en, ax, sp in [((1, 0), (100, -1), (0, 2), (1, 2)), ((-1,), (-100,), (2,), (-1,)), ((2, 3), (0, 0), (1, 2), (-1, -2)), ((0,), (1,), (-3,), (1,))]:
    case('Slice', 'Slice', [x, I(*st), I(*en), I(*ax), I(*sp)])
case('Expand', 'Expand', [f32(3, 1), I(2, 1, 4)])
case('Split(axis: 1, num_outputs: 0)', 'Split', [x, I(1, 2)], dict(axis=1), n_out=2)
case('Split(axis: -1, num_outputs: 3)', 'Split', [f32(2, 7)], dict(axis=-1, num_outputs=3), n_out=3)
for mode in ['constant', 'reflect', 'edge', 'wrap']:
    case('Pad(mode: %s)' % mode.capitalize(), 'Pad', [f32(3, 4), I(1, 2, 2, 3), np.array(1.5, np.float32)], dict(mode=mode))
case('Tile', 'Tile', [f32(2, 3), I(2, 3)])
case('Range', 'Range', [np.array(1.0, np.float32), np.array(5.5, np.float32), np.array(0.7, np.float32)])
case('Range', 'Range', [np.array(10, np.int32), np.array(-3, np.int32), np.array(-4, np.int32)])
flush('shape')
for op in ['Sum', 'Mean', 'Max', 'Min', 'Prod', 'L1', 'L2', 'LogSum', 'LogSumExp', 'SumSquare']:
    x = np.abs(f32(3, 4, 5)) + 0.1
    for axes, kd in [((1,), 1), ((0, 2), 0), (None, 1)]:
        ins = [x] if axes is None else [x, I(*axes)]
        case('Reduce(op: %s, keepdims: %s, noop_with_empty_axes: false)' % (op, 'true' if kd else 'false'), 'Reduce' + op, ins, dict(keepdims=kd))
    if op in ('Sum', 'Max', 'Min', 'Prod', 'Mean', 'L1', 'SumSquare'):
        case('Reduce(op: %s, keepdims: false, noop_with_empty_axes: false)' % op, 'Reduce' + op, [ints(np.int64, 3, 4) // 3, I(-1)], dict(keepdims=0))
for op in ['ArgMax', 'ArgMin']:
    x = np.round(f32(3, 4, 5))
    for ax, kd, sl in [(1, 1, 0), (-1, 0, 1), (0, 0, 0)]:
        case('%s(axis: %d, keepdims: %s, select_last_index: %s)' % (op, ax, 'true' if kd else 'false', 'true' if sl else 'false'), op, [x], dict(axis=ax, keepdims=kd, select_last_index=sl))
flush('reduce')
h = lambda *s: rng.standard_normal(s).astype(np.float16)
d = lambda *s: rng.standard_normal(s).astype(np.float64)
for b in ['Add', 'Mul', 'Div', 'Max', 'Less']:
    case('Binary(%s)' % b, b, [h(2, 3), h(3)]); case('Binary(%s)' % b, b, [d(2, 3), d(3)])
for u in ['Relu', 'Exp', 'Tanh', 'Sigmoid', 'Erf', 'Floor']:
    case('Unary(%s)' % u, u, [h(8)])
    if u != 'Erf':  # the reference computes f64 Erf in f32
        case('Unary(%s)' % u, u, [d(8)])
case('Softmax(axis: -1)', 'Softmax', [h(2, 5)], dict(axis=-1))
case('Cast(to: F32)', 'Cast', [h(6)], dict(to=1)); case('Cast(to: F16)', 'Cast', [d(6) * 1000], dict(to=10))
case('Cast(to: I64)', 'Cast', [h(6) * 100], dict(to=7))
case('Reduce(op: Sum, keepdims: false, noop_with_empty_axes: false)', 'ReduceSum', [d(3, 4), np.array([1], np.int64)], dict(keepdims=0))
x = rng.standard_normal(7).astype(np.float32); x[2] = np.nan
case('Reduce(op: Min, keepdims: true, noop_with_empty_axes: false)', 'ReduceMin', [x], dict(keepdims=1))
case('ArgMin(axis: 0, keepdims: true, select_last_index: false)', 'ArgMin', [x], dict(axis=0))
case('Clip', 'Clip', [x, np.array(-0.1, np.float32), None])
case('Range', 'Range', [np.array(0, np.int64), np.array(10, np.int64), np.array(3, np.int64)])
flush('half')

# edge cases: NaN, wrapping integers, more dtypes and ranks
nanx = np.array([1.0, np.nan, -2.0, np.inf, -np.inf, 0.0], np.float32)
nany = np.array([np.nan, 3.0, -1.0, 1.0, np.nan, -0.0], np.float32)
for b in ['Max', 'Min', 'Add', 'Div', 'Less', 'Equal']:
    case('Binary(%s)' % b, b, [nanx, nany])
case('Clip', 'Clip', [nanx, np.array(-1.0, np.float32), np.array(1.0, np.float32)])
case('Reduce(op: Max, keepdims: false, noop_with_empty_axes: false)', 'ReduceMax', [nanx.reshape(2, 3), I(1)], dict(keepdims=0))
case('Reduce(op: Sum, keepdims: false, noop_with_empty_axes: false)', 'ReduceSum', [nanx.reshape(2, 3), I(0)], dict(keepdims=0))
case('ArgMax(axis: 1, keepdims: false, select_last_index: false)', 'ArgMax', [nany.reshape(2, 3)], dict(axis=1, keepdims=0))
case('Softmax(axis: 1)', 'Softmax', [nanx.reshape(2, 3)], dict(axis=1))
case('Binary(Pow)', 'Pow', [np.array([-8.0, 4.0, 0.0, -2.0], np.float32), np.array([1 / 3, 0.5, -1.0, 3.0], np.float32)])
wide = lambda dt: np.iinfo(dt)
for dt in [np.int8, np.uint16, np.int32, np.uint64]:
    a = rng.integers(wide(dt).min, wide(dt).max, 8, dtype=dt, endpoint=True)
    b = rng.integers(wide(dt).min, wide(dt).max, 8, dtype=dt, endpoint=True)
    for op in ['Add', 'Sub', 'Mul', 'Max', 'Greater']:
        case('Binary(%s)' % op, op, [a, b])
    case('Variadic(Sum)', 'Sum', [a, b, a])
case('Binary(Div)', 'Div', [np.array([-7, 7, -128, 100], np.int8), np.array([2, -2, 3, -7], np.int8)])
case('Binary(BitShiftLeft)', 'BitShift', [np.array([1, 3, 2**63], np.uint64), np.array([63, 2, 1], np.uint64)], {'direction': 'LEFT'})
case('Binary(BitShiftRight)', 'BitShift', [np.array([2**64 - 1, 3], np.uint64), np.array([60, 1], np.uint64)], {'direction': 'RIGHT'})
big = np.array([2**62 + 1, -(2**53) - 1, 7, -1], np.int64)
for to, code in [('F32', 1), ('F64', 11), ('U64', 13), ('I16', 5), ('Bool', 9), ('F16', 10)]:
    case('Cast(to: %s)' % to, 'Cast', [big], {'to': code})
case('Cast(to: I8)', 'Cast', [np.array([1.5, -2.5, 100.0, -0.0], np.float16)], {'to': 3})
case('Cast(to: F16)', 'Cast', [np.array([True, False])], {'to': 10})
case('Cast(to: I64)', 'Cast', [np.array([2**64 - 1, 5], np.uint64)], {'to': 7})
d64 = lambda *s: rng.standard_normal(s)
wr, wa = win([3], [2], [1, 2], [1])
case('Conv(window: %s, group: 2)' % wr, 'Conv', [d64(2, 4, 9), d64(6, 2, 3)], dict(wa, group=2))
wr, wa = win([2, 2], [1, 1], [0, 0, 1, 1], [1, 1])
wr, wa = win([3], [2], [1, 1], [1])
x1 = f32(2, 3, 10)
case('AveragePool(window: %s, ceil_mode: true, count_include_pad: true)' % wr, 'AveragePool', [x1], dict(wa, ceil_mode=1, count_include_pad=1))
case('MaxPool(window: %s, ceil_mode: true)' % wr, 'MaxPool', [x1], dict(wa, ceil_mode=1), n_out=2)
wr, wa = win([2, 2, 2], [2, 1, 2], [1, 0, 0, 0, 1, 1], [1, 1, 1])
case('AveragePool(window: %s, ceil_mode: false, count_include_pad: false)' % wr, 'AveragePool', [f32(1, 2, 5, 4, 6)], dict(wa, count_include_pad=0))
case('Pad(mode: Reflect)', 'Pad', [f32(2, 3, 4), I(0, 2, 3, 1, 2, 3)], dict(mode='reflect'))
case('Pad(mode: Wrap)', 'Pad', [ints(np.int32, 2, 3), I(1, 4, 0, 5)], dict(mode='wrap'))
x = f32(4, 5, 6)
for st, en, ax, sp in [((-1, 4), (-5, 0), (0, 2), (-2, -1)), ((5, -100), (-100, 100), (-1, 1), (-3, 2))]:
    case('Slice', 'Slice', [x, I(*st), I(*en), I(*ax), I(*sp)])
case('Gather(axis: -1)', 'Gather', [x, np.array([[5, -6]], np.int64)], dict(axis=-1))
case('Tile', 'Tile', [ints(np.int8, 2, 1, 3), I(1, 3, 2)])
case('Expand', 'Expand', [f32(2, 1, 3), I(4, 1, 1, 1)])
case('Reshape(allowzero: true)', 'Reshape', [f32(2, 0, 3), I(0, 3, 7)], dict(allowzero=1))
case('Range', 'Range', [np.array(0.5, np.float64), np.array(-3.0, np.float64), np.array(-0.75, np.float64)])
case('Where', 'Where', [bb(3, 1), ints(np.uint8, 1, 4), ints(np.uint8, 3, 4)])
case('Unary(Round)', 'Round', [np.array([0.5, 1.5, 2.5, -0.5, -1.5, 2.4999], np.float32)])
case('Reduce(op: Mean, keepdims: false, noop_with_empty_axes: false)', 'ReduceMean', [np.array([[-7, 2], [5, 1]], np.int32), I(1)], dict(keepdims=0))
case('Reduce(op: L2, keepdims: true, noop_with_empty_axes: false)', 'ReduceL2', [ints(np.int64, 3, 4), I(1)], dict(keepdims=1))
case('Reduce(op: LogSumExp, keepdims: true, noop_with_empty_axes: false)', 'ReduceLogSumExp', [f32(3, 4) * 50, I(0)], dict(keepdims=1))
flush('edge')
"#;
