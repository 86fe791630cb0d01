//! Ferry's server: one binary that serves the page and the API and runs the worker pool.
//!
//! Layout, in the order a download flows through it:
//! - [`config`]: environment variables, parsed and validated once at start-up.
//! - [`http`]: the axum router — [`http::initiate`] queues a job, [`http::status`] reports it,
//!   [`http::cancel`] stops it, [`http::files`] serves local download links, [`http::health`].
//!   [`error::AppError`] maps every failure to a status and JSON body in one place.
//! - [`queue`]: the [`queue::JobQueue`] contract (leases, fencing, retries, retention), the
//!   embedded in-memory backend and the Redis backend (Lua scripts).
//! - [`origin`]: where files come from — the [`origin::Origin`] contract and its simulated, S3
//!   and HTTP implementations; safe entry names ([`origin::names`]).
//! - [`worker`]: the pool that claims jobs and streams their files from the origin into a zip
//!   ([`archive`]) and the zip into the result store, reporting bytes as progress.
//! - [`storage`]: the [`storage::ResultStore`] contract, the S3 backend (streaming and multipart
//!   uploads, presigned links) and the local-directory backend with signed, expiring links.
//! - [`metrics`]: the Prometheus metrics (names, buckets, the recorder `/metrics` renders);
//!   [`telemetry`] sets up logs (human-readable or JSON).
//! - [`application`]: wires it all together and stops it in order ([`shutdown`] has the signals);
//!   [`site`] finds the page's built files under the names the build gave them.

pub mod application;
pub mod archive;
pub mod config;
pub mod error;
pub mod healthcheck;
pub mod http;
pub mod metrics;
pub mod origin;
pub mod presence;
pub mod queue;
pub mod shutdown;
pub mod site;
pub mod storage;
pub mod telemetry;
pub mod worker;
