//! Frontend tier: a private site bucket served only through CloudFront (Origin Access
//! Control), an uploads bucket whose new objects reach EventBridge (frontend releases), and
//! one HTTPS distribution for app and API: `/api/*` goes to the load balancer, everything
//! else to the bucket, with an SPA fallback that rewrites app routes but never API errors.

//!
//! The step of the provision workflow: the tier as `vikunja-aws plan` plans it
//! (`resources_frontend`), applied, then recorded in the inventory.

pub mod handler;

pub use handler::{handle, Clients};
