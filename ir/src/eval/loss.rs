//! NegativeLogLikelihoodLoss: `loss[n, d] = -input[n, target[n, d], d] *
//! weight[target[n, d]]`, 0 where the target is `ignore_index`; `Mean`
//! divides the sum by the total weight of the targets not ignored. Sums
//! accumulate in f64.

use crate::error::OpError;
use crate::op::LossReduction;
use crate::op_err;
use crate::tensor::Tensor;

pub(super) fn nll(
    reduction: LossReduction,
    ignore_index: Option<i64>,
    inputs: &[Option<&Tensor>],
) -> Result<Vec<Tensor>, OpError> {
    let get = |i: usize, name: &str| {
        inputs.get(i).copied().flatten().ok_or_else(|| op_err!("required input `{name}` (#{i}) is missing"))
    };
    let (x, t) = (get(0, "input")?, get(1, "target")?);
    let w = inputs.get(2).copied().flatten().map(|w| w.to_f64_vec());
    let xs = x.shape();
    if xs.len() < 2 {
        return Err(op_err!("input must have rank >= 2, got {xs:?}"));
    }
    let (n, c) = (xs[0], xs[1]);
    let d: usize = xs[2..].iter().product();
    let (xv, tv) = (x.to_f64_vec(), t.to_i64_vec());
    if w.as_ref().is_some_and(|w| w.len() != c) {
        return Err(op_err!("weight must have {c} elements"));
    }
    if tv.len() != n * d {
        return Err(op_err!("target has {} elements, want {}", tv.len(), n * d));
    }
    let mut loss = vec![0.0; n * d];
    let (mut sum, mut wsum) = (0.0f64, 0.0f64);
    for (k, &cls) in tv.iter().enumerate() {
        if Some(cls) == ignore_index {
            continue;
        }
        if cls < 0 || cls as usize >= c {
            return Err(op_err!("target value {cls} is outside [0, {c})"));
        }
        let cls = cls as usize;
        let wt = w.as_ref().map_or(1.0, |w| w[cls]);
        let (ni, di) = (k / d, k % d);
        loss[k] = -xv[(ni * c + cls) * d + di] * wt;
        sum += loss[k];
        wsum += wt;
    }
    let out = match reduction {
        LossReduction::None => Tensor::from_f64(x.dtype(), t.shape().to_vec(), &loss),
        LossReduction::Sum => Tensor::from_f64(x.dtype(), Vec::<usize>::new(), &[sum]),
        LossReduction::Mean => Tensor::from_f64(x.dtype(), Vec::<usize>::new(), &[sum / wsum]),
    };
    Ok(vec![out])
}
