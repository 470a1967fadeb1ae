//! Typed identifiers of Nectr's own records, so that an event id is never passed where a user id
//! is expected.

use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(i64);

        impl $name {
            /// Wraps a raw database id.
            pub const fn new(raw: i64) -> Self {
                Self(raw)
            }

            /// The raw database id.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(formatter)
            }
        }
    };
}

id_type!(
    /// The id of a row in `users`.
    UserId
);
id_type!(
    /// The id of a row in `installations` (one connected repository of one user).
    InstallationId
);
id_type!(
    /// The id of a row in `events` (one webhook delivery).
    EventId
);
id_type!(
    /// The id of a row in `workflow_runs` (one review run).
    ReviewRunId
);
id_type!(
    /// The id of a row in `review_jobs` (one queued review of one head commit).
    JobId
);
