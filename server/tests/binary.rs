//! The server binary as an operator runs it: configuration errors stop it with a message, and
//! SIGTERM releases running jobs before it exits.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

/// A command for the server binary with a clean, test-friendly environment.
fn server_command(storage: &std::path::Path, extra: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_server"));
    command
        .env("LEPTOS_OUTPUT_NAME", "ferry")
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env("LEPTOS_SITE_ROOT", storage.join("site"))
        .env("LOCAL_STORAGE_DIR", storage.join("results"))
        .env("RUST_LOG", "info")
        .env_remove("REDIS_URL")
        .env_remove("S3_ENDPOINT")
        .env_remove("S3_BUCKET_NAME")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    for (name, value) in extra {
        command.env(name, value);
    }
    command
}

/// The running server; killed when the test ends, whatever happens, so no process outlives it.
struct RunningServer(Child);

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Streams the child's log lines to a channel so the test can wait for specific ones.
fn log_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let stderr = child.stderr.take().expect("stderr is piped");
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

fn wait_for_line(lines: &mpsc::Receiver<String>, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return line,
            Ok(_) => {}
            Err(_) => panic!("no log line containing {needle:?}"),
        }
    }
}

/// A minimal HTTP/1.1 exchange, so the test needs no HTTP client crate.
fn post_json(addr: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    (status, body)
}

#[test]
fn a_bad_value_stops_the_server_with_a_message_naming_it() {
    let storage = tempfile::tempdir().unwrap();
    let output = server_command(storage.path(), &[("WORKER_CONCURRENCY", "lots")])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(
        log.contains("WORKER_CONCURRENCY=\"lots\" is invalid"),
        "{log}"
    );
}

#[test]
fn sigterm_releases_running_jobs_and_exits_cleanly() {
    let storage = tempfile::tempdir().unwrap();
    let mut server = RunningServer(
        server_command(
            storage.path(),
            &[
                ("DOWNLOAD_DELAY_MIN_MS", "60000"),
                ("DOWNLOAD_DELAY_MAX_MS", "60000"),
                ("SHUTDOWN_GRACE_MS", "5000"),
            ],
        )
        .stderr(Stdio::piped())
        .spawn()
        .unwrap(),
    );
    let child = &mut server.0;
    let lines = log_lines(child);
    let listening = wait_for_line(&lines, "listening");
    let addr = listening
        .split("addr=")
        .nth(1)
        .expect("the log names the address")
        .trim()
        .to_owned();

    let (status, body) = post_json(&addr, "/v1/download/initiate", r#"{"file_id": 12345}"#);
    assert_eq!(status, 202, "{body}");
    wait_for_line(&lines, "job started");

    let stopped_at = Instant::now();
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    wait_for_line(&lines, "received SIGTERM");
    wait_for_line(&lines, "job released for another worker");
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            stopped_at.elapsed() < Duration::from_secs(5),
            "the server exits within SHUTDOWN_GRACE_MS"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(exit.success(), "{exit:?}");
}
