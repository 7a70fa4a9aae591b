//! Adagrad, Adam and Momentum (ai.onnx.preview.training), elementwise as
//! the ONNX reference's `_apply_*` functions.

use super::util::arg;
use crate::error::OpError;
use crate::infer::optimizer_count;
use crate::op::OptimizerKind;
use crate::tensor::Tensor;

type Args<'a, 'b> = &'a [Option<&'b Tensor>];

/// One element's update: `vals` = [x, g, states...]; returns [x_new, states_new...].
pub fn optimizer_step(kind: OptimizerKind, r: f64, t: i64, vals: &[f64]) -> Vec<f64> {
    let (x, g) = (vals[0], vals[1]);
    match kind {
        OptimizerKind::Adagrad { decay_factor, epsilon, norm_coefficient } => {
            let r = r / (1.0 + t as f64 * decay_factor as f64);
            let g = norm_coefficient as f64 * x + g;
            let h = vals[2] + g * g;
            vec![x - r * g / (h.sqrt() + epsilon as f64), h]
        }
        OptimizerKind::Adam { alpha, beta, epsilon, norm_coefficient, norm_coefficient_post } => {
            let (a, b) = (alpha as f64, beta as f64);
            let g = norm_coefficient as f64 * x + g;
            let v = a * vals[2] + (1.0 - a) * g;
            let h = b * vals[3] + (1.0 - b) * g * g;
            let r = if t > 0 { r * (1.0 - b.powf(t as f64)).sqrt() / (1.0 - a.powf(t as f64)) } else { r };
            let xn = x - r * (v / (h.sqrt() + epsilon as f64));
            vec![(1.0 - norm_coefficient_post as f64) * xn, v, h]
        }
        OptimizerKind::Momentum { alpha, beta, norm_coefficient, nesterov } => {
            let g = norm_coefficient as f64 * x + g;
            let b = if t > 0 { beta as f64 } else { 1.0 };
            let v = alpha as f64 * vals[2] + b * g;
            let xn = if nesterov { x - r * (g + alpha as f64 * v) } else { x - r * v };
            vec![xn, v]
        }
    }
}

pub(crate) fn optimizer(kind: OptimizerKind, inputs: Args) -> Result<Vec<Tensor>, OpError> {
    let n = optimizer_count(kind, inputs.len())?;
    let per = 2 + kind.states();
    let r = arg(inputs, 0)?.to_f64_vec().first().copied().unwrap_or(0.0);
    let t = arg(inputs, 1)?.to_i64_vec().first().copied().unwrap_or(0);
    let mut outs: Vec<Vec<Tensor>> = vec![Vec::new(); per - 1];
    for i in 0..n {
        let ts: Vec<&Tensor> = (0..per).map(|j| arg(inputs, 2 + j * n + i)).collect::<Result<_, _>>()?;
        let vs: Vec<Vec<f64>> = ts.iter().map(|t| t.to_f64_vec()).collect();
        let mut res = vec![Vec::with_capacity(vs[0].len()); per - 1];
        for e in 0..vs[0].len() {
            let vals: Vec<f64> = vs.iter().map(|v| v[e]).collect();
            for (k, y) in optimizer_step(kind, r, t, &vals).into_iter().enumerate() {
                res[k].push(y);
            }
        }
        for (k, y) in res.into_iter().enumerate() {
            let like = if k == 0 { ts[0] } else { ts[1 + k] };
            outs[k].push(Tensor::from_f64(like.dtype(), like.shape().to_vec(), &y));
        }
    }
    Ok(outs.into_iter().flatten().collect())
}
