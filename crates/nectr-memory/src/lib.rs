//! Nectr's project memory on the Mem0 platform (`MEM0_API_KEY`): [`Mem0Store`] implements the
//! domain's `MemoryStore` port over Mem0's REST API, with retries, timeouts and errors mapped to
//! the port.
//!
//! How Nectr's memories map onto Mem0's: one Mem0 memory per Nectr memory, stored verbatim
//! (`infer: false`); `user_id` is the scope (`project` or the developer's login, as the original
//! service wrote it); `metadata` holds the repository (`repo`, lower case), `memory_type`, the
//! provenance (`source_kind`, `source_pr`, `source_user_id`) and the hit counter (`hits`,
//! `last_hit_at`). Every read filters on `metadata.repo`, and every change reads the memory first
//! and refuses one of another repository, which the original did not.

mod client;
mod mapping;
mod store;

pub use client::Mem0Config;
pub use store::Mem0Store;
