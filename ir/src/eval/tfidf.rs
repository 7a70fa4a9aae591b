//! TfIdfVectorizer on integer inputs. The reference builds a trie of the
//! pool; counting the matches of every pooled n-gram directly gives the same
//! frequencies: an n-gram of length n > 1 matches at start s with skip
//! distance d in 1..=max_skip_count+1 when `X[s + j*d] == gram[j]` for all
//! j; unigrams count once per position.

use super::util::*;
use crate::error::OpError;
use crate::op::{TfIdfAttrs, TfIdfMode};
use crate::op_err;
use crate::tensor::Tensor;

/// One pooled n-gram with a length in [min, max] and its output column.
#[derive(Clone, Debug)]
pub struct Gram {
    pub items: Vec<i64>,
    pub column: usize,
}

/// The counted n-grams and the output row size.
pub fn tfidf_grams(a: &TfIdfAttrs) -> Result<(Vec<Gram>, usize), OpError> {
    let size = a.ngram_indexes.iter().copied().max().map_or(0, |m| m + 1);
    let size = usize::try_from(size).map_err(|_| op_err!("negative ngram_indexes"))?;
    if a.min_gram_length == 0 || a.min_gram_length > a.max_gram_length {
        return Err(op_err!("bad gram lengths {}..={}", a.min_gram_length, a.max_gram_length));
    }
    let total = a.pool_int64s.len() as i64;
    let mut grams = Vec::new();
    let mut id = 0usize; // ids count every pooled n-gram, counted or not
    for (i, &start) in a.ngram_counts.iter().enumerate() {
        let n = i + 1;
        let end = a.ngram_counts.get(i + 1).copied().unwrap_or(total);
        if start < 0 || end < start || end > total {
            return Err(op_err!("ngram_counts {:?} do not fit the pool of {total}", a.ngram_counts));
        }
        let items = &a.pool_int64s[start as usize..end as usize];
        for g in items.chunks_exact(n) {
            if (a.min_gram_length..=a.max_gram_length).contains(&n) {
                let col = a.ngram_indexes.get(id).copied().ok_or_else(|| op_err!("ngram_indexes is too short"))?;
                let column = usize::try_from(col).map_err(|_| op_err!("negative ngram index {col}"))?;
                grams.push(Gram { items: g.to_vec(), column });
            }
            id += 1;
        }
    }
    if !a.weights.is_empty() && a.weights.len() < size {
        return Err(op_err!("{} weights for {size} outputs", a.weights.len()));
    }
    Ok((grams, size))
}

/// Skip distances an n-gram of length `n` is matched with.
pub fn skip_distances(n: usize, max_skip: usize) -> std::ops::RangeInclusive<usize> {
    if n == 1 { 1..=1 } else { 1..=max_skip + 1 }
}

/// The output value of a column with frequency `f`.
pub fn tfidf_weight(a: &TfIdfAttrs, col: usize, f: f32) -> f32 {
    let w = a.weights.get(col).copied();
    match a.mode {
        TfIdfMode::Tf => f,
        TfIdfMode::Idf => if f > 0.0 { w.unwrap_or(1.0) } else { 0.0 },
        TfIdfMode::TfIdf => w.unwrap_or(1.0) * f,
    }
}

pub(super) fn eval(a: &TfIdfAttrs, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    let x = arg(inputs, 0)?;
    let (grams, size) = tfidf_grams(a)?;
    let xv = ints(x, "X")?;
    let (rows, c) = match x.shape() {
        [c] => (1, *c),
        [b, c] => (*b, *c),
        s => return Err(op_err!("X must be [C] or [B, C], got {s:?}")),
    };
    let mut out = vec![0f32; rows * size];
    for r in 0..rows {
        let row = &xv[r * c..(r + 1) * c];
        for g in &grams {
            let n = g.items.len();
            let mut f = 0usize;
            for d in skip_distances(n, a.max_skip_count) {
                let span = (n - 1) * d;
                for s in 0..c.saturating_sub(span) {
                    if (0..n).all(|j| row[s + j * d] == g.items[j]) {
                        f += 1;
                    }
                }
            }
            out[r * size + g.column] += f as f32;
        }
        for (col, v) in out[r * size..(r + 1) * size].iter_mut().enumerate() {
            *v = tfidf_weight(a, col, *v);
        }
    }
    let shape = if x.shape().len() == 1 { vec![size] } else { vec![rows, size] };
    Ok(vec![Tensor::from_vec(shape, out)])
}
