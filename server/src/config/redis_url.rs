//! The queue's Redis: one server (`REDIS_URL`) or a cluster (`REDIS_CLUSTER_NODES`).

use super::{
    variables::{Var, REDIS_CLUSTER_NODES, REDIS_URL},
    ConfigError, Vars,
};
use crate::queue::redis::RedisTarget;

/// `REDIS_URL` (one server) or `REDIS_CLUSTER_NODES` (`host:port,...` of a cluster), not both.
pub(super) fn redis_target(vars: &Vars<'_>) -> Result<Option<RedisTarget>, ConfigError> {
    let check_url = |var: &Var, url: &str| {
        redis::IntoConnectionInfo::into_connection_info(url)
            .map(|_| ())
            // The error is printed at start-up: never with the password in it.
            .map_err(|e| {
                let reason = format!("{e} (expected redis://[:password@]host[:port][/db])");
                vars.invalid(var, crate::queue::redis::redacted(url), reason)
            })
    };
    match (vars.value(&REDIS_URL), vars.value(&REDIS_CLUSTER_NODES)) {
        (Some(_), Some(nodes)) => Err(vars.invalid(
            &REDIS_CLUSTER_NODES,
            nodes,
            "set REDIS_URL for one server or REDIS_CLUSTER_NODES for a cluster, not both",
        )),
        (Some(url), None) => {
            check_url(&REDIS_URL, &url)?;
            Ok(Some(RedisTarget::Server(url)))
        }
        (None, Some(nodes)) => {
            let urls: Vec<String> = nodes
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(|n| {
                    if n.contains("://") {
                        n.to_owned()
                    } else {
                        format!("redis://{n}")
                    }
                })
                .collect();
            vars.check(&REDIS_CLUSTER_NODES, &nodes, !urls.is_empty())?;
            for url in &urls {
                check_url(&REDIS_CLUSTER_NODES, url)?;
            }
            Ok(Some(RedisTarget::Cluster(urls)))
        }
        (None, None) => Ok(None),
    }
}
