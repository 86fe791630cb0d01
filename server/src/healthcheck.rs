//! `server --healthcheck`: asks the running server's `/health` and exits 0 when it answers 200.
//!
//! Container images run this as their `HEALTHCHECK`, so the slim runtime image needs no HTTP
//! client of its own (no curl, no wget).

use crate::config::variables::LEPTOS_SITE_ADDR;
use std::{net::SocketAddr, process::ExitCode, time::Duration};

/// How long the check may take before it counts as failed.
const TIMEOUT: Duration = Duration::from_secs(3);

/// Checks the server at `LEPTOS_SITE_ADDR` (a wildcard address is asked on loopback).
pub async fn run() -> ExitCode {
    let configured =
        std::env::var(LEPTOS_SITE_ADDR.name).unwrap_or_else(|_| LEPTOS_SITE_ADDR.default_value());
    let Ok(mut addr) = configured.parse::<SocketAddr>() else {
        eprintln!("LEPTOS_SITE_ADDR={configured:?} is not an address");
        return ExitCode::FAILURE;
    };
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    match status_of_health(addr).await {
        Ok(200) => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("/health answered {status}");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("/health did not answer: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn status_of_health(addr: SocketAddr) -> Result<u16, reqwest::Error> {
    let client = reqwest::Client::builder().timeout(TIMEOUT).build()?;
    let response = client.get(format!("http://{addr}/health")).send().await?;
    Ok(response.status().as_u16())
}
