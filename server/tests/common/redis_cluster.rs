//! A private three-master Redis Cluster on loopback, for the queue's cluster tests.
//!
//! Each node runs under a small shell that kills it (and deletes its directory) when the test
//! process's end of its stdin closes — however the test process ends, no node outlives it.

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    process::{Child, Command, Stdio},
    sync::OnceLock,
    time::{Duration, Instant},
};

/// The running cluster's nodes, as `redis://127.0.0.1:port` URLs.
pub struct RedisCluster {
    pub nodes: Vec<String>,
    _processes: Vec<Child>,
}

/// A port that is free, with its cluster bus port (port + 10000) free as well.
fn free_cluster_port() -> u16 {
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if port < 50_000 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}

fn ask(port: u16, command: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .ok()?;
    stream.write_all(command.as_bytes()).ok()?;
    let mut buffer = [0u8; 4096];
    let read = stream.read(&mut buffer).ok()?;
    Some(String::from_utf8_lossy(&buffer[..read]).into_owned())
}

fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ready() {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl RedisCluster {
    /// The cluster shared by every test of this test binary, started on first use.
    pub fn shared() -> &'static RedisCluster {
        static CLUSTER: OnceLock<RedisCluster> = OnceLock::new();
        CLUSTER.get_or_init(RedisCluster::start)
    }

    fn start() -> Self {
        let ports: Vec<u16> = (0..3).map(|_| free_cluster_port()).collect();
        let processes = ports
            .iter()
            .map(|port| {
                let dir = std::env::temp_dir().join(format!("ferry-cluster-{port}-{}", std::process::id()));
                std::fs::create_dir_all(&dir).unwrap();
                Command::new("sh")
                    .arg("-c")
                    .arg(
                        r#"redis-server --port "$1" --bind 127.0.0.1 --dir "$2" --cluster-enabled yes \
                             --cluster-config-file nodes.conf --save "" --appendonly no >/dev/null &
                           node=$!; read _; kill "$node"; wait "$node"; rm -rf "$2""#,
                    )
                    .arg("sh")
                    .arg(port.to_string())
                    .arg(&dir)
                    .stdin(Stdio::piped())
                    .stdout(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for port in &ports {
            wait_until("a cluster node answering PING", || {
                ask(*port, "PING\r\n").is_some_and(|r| r.starts_with("+PONG"))
            });
        }
        let addresses: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let created = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(created.success(), "redis-cli --cluster create failed");
        for port in &ports {
            wait_until("the cluster reporting state ok on every node", || {
                ask(*port, "CLUSTER INFO\r\n").is_some_and(|r| r.contains("cluster_state:ok"))
            });
        }
        Self {
            nodes: addresses.iter().map(|a| format!("redis://{a}")).collect(),
            _processes: processes,
        }
    }
}
