//! Frontend releases. A zip uploaded as `releases/<version>.zip` to the stack's uploads
//! bucket starts the release-frontend state machine (S3 → EventBridge), whose steps call
//! this function:
//!
//! 1. `sync` — stream the zip to local storage, refuse anything unsafe or broken before a
//!    single write, then write every file to the site bucket with its Content-Type and
//!    Cache-Control, hashed assets first, fixed-name files next, the edited `index.html`
//!    (pointing the app at `/api/v1`) last; files already there unchanged are skipped.
//! 2. `invalidate`, `invalidationStatus` — one CloudFront invalidation with the fewest
//!    correct paths, waited for.
//! 3. `publish` — record the release as live (SSM, read by `vikunja-aws status`).
//! 4. `prune` — after the keep-previous period, delete the files only older releases used.

pub mod archive;
pub mod classify;
pub mod event;
pub mod handler;
pub mod index_html;
pub mod invalidation;
pub mod live;
pub mod manifest;
pub mod naming;
pub mod site;
pub mod sync;
pub mod turn;

pub use handler::{handle, Clients, Invalidation, Release, Request};
