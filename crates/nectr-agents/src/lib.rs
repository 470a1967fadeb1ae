//! Nectr's reviewers. Today: [`OfflineReviewer`], deterministic checks on the added lines of a
//! diff that a careful human reviewer would also flag. It needs no key, no network and no
//! runtime: `OfflineReviewer::default().review(&files)` on parsed diffs.

mod offline;

pub use offline::OfflineReviewer;
