//! Channels-last layout helpers shared by `Op::ConvNhwc`'s shape rule, its
//! reference semantics and the `layout` pass: the permutations between
//! channels-first (`[N, C, d...]`, ONNX's layout) and channels-last
//! (`[N, d..., C]`).

/// `Transpose` perm taking a channels-first tensor of rank `rank` to channels-last.
pub fn to_last(rank: usize) -> Vec<usize> {
    let mut p = vec![0];
    p.extend(2..rank);
    if rank > 1 {
        p.push(1);
    }
    p
}

/// `Transpose` perm taking a channels-last tensor of rank `rank` back to channels-first.
pub fn to_first(rank: usize) -> Vec<usize> {
    let mut p = vec![0];
    if rank > 1 {
        p.push(rank - 1);
    }
    p.extend(1..rank.saturating_sub(1));
    p
}

/// `dims` permuted by `perm` (as `Transpose` does).
pub fn permute<T: Copy>(dims: &[T], perm: &[usize]) -> Vec<T> {
    perm.iter().map(|&p| dims[p]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perms_are_inverse() {
        for r in 1..6 {
            let d: Vec<usize> = (0..r).collect();
            assert_eq!(permute(&permute(&d, &to_last(r)), &to_first(r)), d);
        }
        assert_eq!(to_last(4), vec![0, 2, 3, 1]);
        assert_eq!(to_first(4), vec![0, 3, 1, 2]);
    }
}
