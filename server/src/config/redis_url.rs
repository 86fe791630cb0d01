//! The queue's Redis: one server (`REDIS_URL`) or a cluster (`REDIS_CLUSTER_NODES`).

use super::{ConfigError, Vars};
use crate::queue::redis::RedisTarget;

/// `REDIS_URL` (one server) or `REDIS_CLUSTER_NODES` (`host:port,...` of a cluster), not both.
pub(super) fn redis_target(vars: &Vars<'_>) -> Result<Option<RedisTarget>, ConfigError> {
    let check_url = |name: &'static str, url: &str| {
        redis::IntoConnectionInfo::into_connection_info(url)
            .map(|_| ())
            .map_err(|e| ConfigError::Invalid {
                name,
                // The error is printed at start-up: never with the password in it.
                value: crate::queue::redis::redacted(url),
                reason: format!("{e} (expected redis://[:password@]host[:port][/db])"),
            })
    };
    match (vars.get("REDIS_URL"), vars.get("REDIS_CLUSTER_NODES")) {
        (Some(_), Some(nodes)) => Err(ConfigError::Invalid {
            name: "REDIS_CLUSTER_NODES",
            value: nodes,
            reason: "set REDIS_URL for one server or REDIS_CLUSTER_NODES for a cluster, not both"
                .into(),
        }),
        (Some(url), None) => {
            check_url("REDIS_URL", &url)?;
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
            if urls.is_empty() {
                return Err(ConfigError::Invalid {
                    name: "REDIS_CLUSTER_NODES",
                    value: nodes,
                    reason: "list at least one node as host:port".into(),
                });
            }
            for url in &urls {
                check_url("REDIS_CLUSTER_NODES", url)?;
            }
            Ok(Some(RedisTarget::Cluster(urls)))
        }
        (None, None) => Ok(None),
    }
}
