//! Graph-to-graph passes, one file each, and the pipeline that runs them.

pub mod memory_plan;

pub use memory_plan::{plan, MemoryPlan};
