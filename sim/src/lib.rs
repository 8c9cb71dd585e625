//! # selo-sim
//!
//! Offline bank simulators for tests, demos and integrators: thin HTTP
//! shells (hyper on tokio, bound to 127.0.0.1 only) over the bank-side roles
//! of the `selo` core. Every protocol decision is the core's; this crate
//! moves bytes, reads the clock, and adds fault injection and a request log.
//!
//! ```no_run
//! # async fn demo() -> Result<(), selo_sim::SimError> {
//! let sim = selo_sim::safra::start(selo_sim::safra::SafraConfig::default()).await?;
//! println!("PSD at {}", sim.base_url()); // http://127.0.0.1:PORT/psd/
//! sim.inject(selo_sim::Fault::ExpireKey).ok();
//! sim.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Every simulator also answers, under any path ending so:
//! - `POST …/_control/fault` with a [`Fault`] as JSON (or an array of them);
//! - `DELETE …/_control/fault` to clear latency and pending drops;
//! - `GET …/_control/state` for a JSON summary (faults, requests, protocol state).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bmp;
pub mod fault;
pub mod ofb;
pub mod safra;
pub mod server;

pub use fault::Fault;
pub use server::{Protocol, RequestRecord, ServerOptions, Sim, SimRequest};

/// A simulator could not start.
#[derive(Debug)]
pub enum SimError {
    /// The loopback listener could not be bound.
    Bind(std::io::Error),
    /// The configuration is invalid (message says what and why).
    Config(String),
}

impl SimError {
    fn config(msg: impl Into<String>) -> Self {
        SimError::Config(msg.into())
    }

    /// Stable code: `sim.bind` or `sim.config`.
    pub fn code(&self) -> &'static str {
        match self {
            SimError::Bind(_) => "sim.bind",
            SimError::Config(_) => "sim.config",
        }
    }
}

impl std::fmt::Display for SimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SimError::Bind(e) => write!(f, "cannot listen on 127.0.0.1: {e}"),
            SimError::Config(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for SimError {}

/// Unix seconds from the system clock (0 if the clock is before 1970).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}
