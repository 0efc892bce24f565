//! The backend's load balancer: an internet-facing Network Load Balancer in the public
//! subnets with a production listener (:80) and a test listener (:8080), and the blue and
//! green target groups (type ip, HTTP health check on `/health`) that CodeDeploy swaps.
//!
//! Built in parallel with the database: the frontend needs its DNS name as the `/api/*`
//! origin before the backend exists.

pub mod handler;

pub use handler::handle;
