//! sea-orm entities for the original service's tables and Nectr's `api_keys` and
//! `revoked_sessions`. They stay inside this crate.

pub(crate) mod api_keys;
pub(crate) mod events;
pub(crate) mod installations;
pub(crate) mod oauth_states;
pub(crate) mod review_jobs;
pub(crate) mod revoked_sessions;
pub(crate) mod users;
pub(crate) mod workflow_runs;
