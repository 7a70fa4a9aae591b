//! Graph inputs bound at compile time (`ImportOptions::bind_inputs`,
//! `--bind name=FILE.npy`): the value replaces the input, so shape rules see
//! a constant and the input leaves the compiled ABI.

use crate::error::FrontendError;
use crate::proto::{type_proto, ValueInfoProto};
use crate::tensor::dtype_from_code;
use onnxc_ir::{DType, Tensor, TensorType};
use std::collections::HashMap;

/// A graph input's declared element type and dims (`None` for a symbolic or
/// unknown dim; no shape at all if the model declares none).
pub(crate) type Declared = (DType, Option<Vec<Option<i64>>>);

pub(crate) fn declared(vi: &ValueInfoProto) -> Result<Declared, FrontendError> {
    let name = vi.name.clone().unwrap_or_default();
    let what = format!("graph input `{name}`");
    let tt = match vi.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(type_proto::Value::TensorType(t)) => t,
        _ => return Err(FrontendError::Invalid(format!("{what} is not a tensor"))),
    };
    let dtype = dtype_from_code(tt.elem_type.unwrap_or(0), &what)?;
    let dims = tt.shape.as_ref().map(|s| {
        s.dim
            .iter()
            .map(|d| match d.value {
                // A declared 0 is a real empty dim (ONNX allows empty tensors);
                // negative values are as good as unknown.
                Some(crate::proto::tensor_shape_proto::dimension::Value::DimValue(v)) if v >= 0 => {
                    Some(v)
                }
                _ => None,
            })
            .collect()
    });
    Ok((dtype, dims))
}

/// Every bound name must be a graph input (a typo would otherwise be silent).
pub(crate) fn check_names(
    binds: &HashMap<String, Tensor>,
    real_inputs: &[&ValueInfoProto],
) -> Result<(), FrontendError> {
    let names: Vec<&str> = real_inputs.iter().filter_map(|vi| vi.name.as_deref()).collect();
    let mut unknown: Vec<&String> = binds.keys().filter(|k| !names.contains(&k.as_str())).collect();
    unknown.sort();
    match unknown.first() {
        None => Ok(()),
        Some(k) => Err(FrontendError::BadBinding {
            input: k.to_string(),
            msg: format!("the model has no such graph input (inputs: {})", names.join(", ")),
        }),
    }
}

/// The constant that replaces graph input `vi`, checked against its declared
/// type (see `ImportOptions::bind_inputs` for the conversions allowed).
pub(crate) fn bound_value(vi: &ValueInfoProto, name: &str, t: &Tensor) -> Result<Tensor, FrontendError> {
    let err = |msg: String| FrontendError::BadBinding { input: name.to_string(), msg };
    let (dtype, dims) = declared(vi)?;
    let fits = |shape: &[usize]| match &dims {
        None => true,
        Some(d) => d.len() == shape.len() && d.iter().zip(shape).all(|(d, &s)| d.is_none_or(|d| d as u64 == s as u64)),
    };
    let want = match &dims {
        Some(d) => format!("{dtype}{:?}", d.iter().map(|d| d.map_or(-1, |v| v)).collect::<Vec<_>>()),
        None => format!("{dtype} (any shape)"),
    };
    if t.dtype() == dtype || (t.dtype() == DType::U16 && dtype == DType::BF16) {
        if !fits(t.shape()) {
            return Err(err(format!("the input is {want} (-1: any size), the value has shape {:?}", t.shape())));
        }
        if t.dtype() == dtype {
            return Ok(t.clone());
        }
        return Tensor::from_bytes(TensorType::new(dtype, t.shape().to_vec()), t.bytes().clone())
            .map_err(|e| err(e.to_string()));
    }
    // An int64 vector (`--bind name=1,2`) converted to the declared type.
    let shape: Option<Vec<usize>> =
        dims.as_ref().and_then(|d| d.iter().map(|d| d.map(|v| v as usize)).collect());
    let list_ok = t.dtype() == DType::I64 && t.shape().len() <= 1;
    let Some(shape) = shape.filter(|s| list_ok && s.iter().product::<usize>() == t.numel()) else {
        return Err(err(format!("the input is {want} (-1: any size), the value is {}{:?}", t.dtype(), t.shape())));
    };
    let values = t.to_i64_vec();
    let out = if dtype == DType::I64 {
        Tensor::from_vec(shape, values.clone())
    } else {
        Tensor::from_f64(dtype, shape, &values.iter().map(|&v| v as f64).collect::<Vec<_>>())
    };
    if out.to_i64_vec() != values {
        return Err(err(format!("values {values:?} do not fit the input's type {dtype}")));
    }
    Ok(out)
}
