//! The tables as sea-orm entities. Private: models never leave the crate; the store turns
//! them into engine types.

pub(crate) mod bundle;
pub(crate) mod case;
pub(crate) mod event;
