//! The operator's own domain, as steps of the provision workflow: `request` (first of all:
//! the zone is checked before anything is made, then the certificates are requested and
//! their validation records written), `status` (the workflow's wait loop until both are
//! issued) and `records` (after the frontend: the alias records). Without a domain every
//! action answers at once and changes nothing.

pub mod handler;

pub use handler::{handle, Action, Clients, DomainEvent};
