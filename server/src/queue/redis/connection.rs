//! Where the queue's commands go: one Redis server, or a Redis Cluster (or a managed cluster such
//! as ElastiCache or MemoryStore) when one server is not enough.
//!
//! The queue's keys share one hash tag, so every script touches a single slot and runs on the
//! node that owns it; the cluster client routes each command by its keys and follows slot moves.

use redis::{
    aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig},
    cluster::ClusterClient,
    cluster_async::ClusterConnection,
    Client, Cmd, Pipeline, RedisFuture, RedisResult, Value,
};
use std::time::Duration;
use tokio::sync::OnceCell;

/// Which Redis deployment the queue talks to.
#[derive(Clone, PartialEq, Eq)]
pub enum RedisTarget {
    /// `REDIS_URL`: one server (possibly behind a failover proxy).
    Server(String),
    /// `REDIS_CLUSTER_NODES`: seed nodes of a cluster (`redis://host:port` each).
    Cluster(Vec<String>),
}

/// Debug output (which may reach a log) shows the URLs with their passwords masked.
impl std::fmt::Debug for RedisTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Server(url) => f.debug_tuple("Server").field(&redacted(url)).finish(),
            Self::Cluster(urls) => f
                .debug_tuple("Cluster")
                .field(&urls.iter().map(|u| redacted(u)).collect::<Vec<_>>())
                .finish(),
        }
    }
}

/// A Redis URL safe to show: the password (`redis://user:password@host`) replaced by `***`.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            let masked = if userinfo.contains(':') {
                format!("{user}:***")
            } else {
                "***".to_owned()
            };
            format!("{scheme}://{masked}@{host}{tail}")
        }
        None => url.to_owned(),
    }
}

/// A connection to either kind of deployment, usable wherever redis-rs takes a connection.
#[derive(Clone)]
pub enum Connection {
    Server(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Server(connection) => connection.req_packed_command(cmd),
            Self::Cluster(connection) => connection.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Server(connection) => connection.req_packed_commands(pipeline, offset, count),
            Self::Cluster(connection) => connection.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Server(connection) => connection.get_db(),
            Self::Cluster(connection) => connection.get_db(),
        }
    }
}

/// Hands out connections; connects lazily, so Ferry starts (and answers 503) while Redis is down.
pub enum Connector {
    /// Reconnects by itself with backoff.
    Server(ConnectionManager),
    /// Connected on first use; a failed attempt is retried by the next use. Once connected, the
    /// cluster connection refreshes its slot map and reconnects to nodes by itself.
    Cluster(Box<LazyCluster>),
}

/// A cluster client and the connection it makes on first use.
pub struct LazyCluster {
    client: ClusterClient,
    connection: OnceCell<ClusterConnection>,
}

impl Connector {
    /// A connector whose commands time out after `response_timeout`.
    pub fn new(target: &RedisTarget, response_timeout: Duration) -> RedisResult<Self> {
        let connect_timeout = Duration::from_secs(1).min(response_timeout);
        match target {
            RedisTarget::Server(url) => {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(connect_timeout))
                    .set_response_timeout(Some(response_timeout))
                    .set_min_delay(Duration::from_millis(100))
                    .set_max_delay(Duration::from_secs(2));
                let client = Client::open(url.as_str())?;
                Ok(Self::Server(ConnectionManager::new_lazy_with_config(
                    client, config,
                )?))
            }
            RedisTarget::Cluster(nodes) => {
                let client = ClusterClient::builder(nodes.clone())
                    .connection_timeout(connect_timeout)
                    .response_timeout(response_timeout)
                    .retries(2)
                    .build()?;
                Ok(Self::Cluster(Box::new(LazyCluster {
                    client,
                    connection: OnceCell::new(),
                })))
            }
        }
    }

    /// A connection to send commands on (cheap: both kinds are multiplexed handles).
    pub async fn get(&self) -> RedisResult<Connection> {
        match self {
            Self::Server(manager) => Ok(Connection::Server(manager.clone())),
            Self::Cluster(cluster) => cluster
                .connection
                .get_or_try_init(|| cluster.client.get_async_connection())
                .await
                .map(|c| Connection::Cluster(c.clone())),
        }
    }
}
