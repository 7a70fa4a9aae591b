//! The generated safe API: every entry point gives the same answer, and
//! misuse is an error value, not undefined behaviour.

include!(concat!(env!("OUT_DIR"), "/model.rs"));

use onnxc_runtime::{boxed_zeroed, Error, Pool, Workspace, WorkspaceMut};

fn input() -> Box<model::Input0> {
    let mut x: Box<model::Input0> = boxed_zeroed();
    for (i, v) in x.iter_mut().enumerate() {
        *v = ((i * 7919) % 255) as f32 / 255.0;
    }
    x
}

#[test]
fn entry_points_agree() {
    let x = input();
    let mut net = model::Model::default();
    // `run` allocates the outputs (its fields are named after the model's outputs).
    assert!(net.run(&x).is_ok());
    let mut a: Box<model::Output0> = boxed_zeroed();
    net.run_into(&x, &mut a).expect("Model::run_into");
    let mut b: Box<model::Output0> = boxed_zeroed();
    let mut ws = Workspace::new(model::WORKSPACE_SIZE);
    let pool = Pool::new(2);
    model::run_into(ws.as_mut(), Some(pool.abi()), &x, &mut b).expect("run_into with a pool");
    assert_eq!(a.as_slice(), b.as_slice());
    assert!(b.iter().all(|v| v.is_finite()));
}

#[test]
fn small_workspace_is_an_error() {
    let x = input();
    let mut out: Box<model::Output0> = boxed_zeroed();
    let mut small = Workspace::new(64);
    if model::WORKSPACE_SIZE > small.len() {
        let err = model::run_into(small.as_mut(), None, &x, &mut out).unwrap_err();
        assert!(matches!(err, Error::WorkspaceTooSmall { .. }), "{err}");
    }
    let mut bytes = vec![0u8; model::WORKSPACE_SIZE + 128];
    let off = usize::from((bytes.as_ptr() as usize).is_multiple_of(64));
    assert!(matches!(WorkspaceMut::from_slice(&mut bytes[off..]), Err(Error::Misaligned { .. })));
}
