//! Graph-to-graph passes, one file each, and the pipeline that runs them.

pub mod alias;
pub mod bn_fold;
pub mod const_fold;
pub mod dce;
pub mod error;
pub mod fuse_elementwise;
pub mod fuse_epilogue;
pub mod identity;
pub mod layout;
pub mod memory_plan;
pub mod pipeline;

pub use bn_fold::BnFold;
pub use const_fold::ConstFold;
pub use fuse_elementwise::FuseElementwise;
pub use fuse_epilogue::FuseEpilogue;
pub use dce::Dce;
pub use error::PassError;
pub use identity::IdentityElim;
pub use layout::Layout;
pub use memory_plan::{plan, validate, MemoryPlan};
pub use pipeline::{Pass, PipelineOptions};
