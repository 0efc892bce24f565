//! Frontend tier: a private site bucket served only through CloudFront (Origin Access
//! Control), an uploads bucket whose new objects reach EventBridge (frontend releases), and
//! one HTTPS distribution for app and API: `/api/*` goes to the load balancer, everything
//! else to the bucket, with an SPA fallback that rewrites app routes but never API errors.

pub mod buckets;
pub mod distribution;
pub mod handler;

pub use handler::{handle, Clients};
