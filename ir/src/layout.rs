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

/// The tile size `m` of Winograd F(m×m, 3×3) a 3×3, stride-1 convolution
/// with `c` input and `k` output channels and an `oh × ow` output runs
/// with, or `None` where the implicit GEMM wins: shared by the kernel
/// crate's Winograd lowering and the `layout` pass, which leaves such
/// convolutions channels-first (the Winograd kernel is channels-first).
/// `min_tiles` is the GEMM register tile's width: fewer tiles per image
/// than that fill it badly. Measured on VGG-19 (AVX-512, 6×32 tile):
/// F(4×4) runs 1.5–2× faster than the implicit GEMM from 28×28 outputs up
/// with 64–512 channels, F(2×2) 1.2× at 14×14 with 64+ channels (on
/// DenseNet-121's 14×14 layers, 128 → 32 channels, its transforms cost more
/// than the 2.25× fewer multiplications save); few channels excluded (the
/// transforms, linear in C + K, would dominate the GEMMs, linear in C·K).
pub fn winograd_tile(c: i64, k: i64, oh: i64, ow: i64, min_tiles: i64) -> Option<usize> {
    if c < 16 || k < 16 {
        return None;
    }
    let tiles = |m: i64| ((oh + m - 1) / m) * ((ow + m - 1) / m);
    let fits = |m: usize| tiles(m as i64) >= min_tiles && (m == 4 || c.min(k) >= 64);
    [4usize, 2].into_iter().find(|m| fits(*m))
}
