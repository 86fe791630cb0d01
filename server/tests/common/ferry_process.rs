//! The server binary as a separate process, the way an operator runs it: start it with an
//! environment, read its log lines as they come, talk HTTP to it (reqwest's blocking client: these
//! tests run outside any async runtime).

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

/// A command for the server binary with a clean, test-friendly environment.
pub fn server_command(storage: &std::path::Path, extra: &[(&str, &str)]) -> Command {
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
pub struct RunningServer(pub Child);

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The child's log lines, read on a thread. Each wait consumes the first matching line not yet
/// consumed, wherever it came in the log, so the order of waits need not match the log's.
pub struct Log {
    lines: mpsc::Receiver<String>,
    seen: Vec<(String, bool)>,
}

impl Log {
    pub fn of(child: &mut Child) -> Self {
        let stderr = child.stderr.take().expect("stderr is piped");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            lines,
            seen: Vec::new(),
        }
    }

    pub fn wait_for(&mut self, needle: &str) -> String {
        self.wait_for_any(&[needle])
    }

    /// Like [`Log::wait_for`], for the first line containing any of `needles`.
    pub fn wait_for_any(&mut self, needles: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        let wanted = |line: &str| needles.iter().any(|needle| line.contains(needle));
        loop {
            if let Some((line, consumed)) = self
                .seen
                .iter_mut()
                .find(|(line, consumed)| !*consumed && wanted(line))
            {
                *consumed = true;
                return line.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push((line, false)),
                Err(_) => panic!("no log line containing {needles:?}; log: {:#?}", self.seen),
            }
        }
    }
}

impl Log {
    /// The lines read so far, consumed by a wait or not.
    pub fn lines_so_far(&self) -> impl Iterator<Item = &str> {
        self.seen.iter().map(|(line, _)| line.as_str())
    }

    /// Reads lines until none has come for `quiet`.
    pub fn read_until_quiet(&mut self, quiet: Duration) {
        while let Ok(line) = self.lines.recv_timeout(quiet) {
            self.seen.push((line, false));
        }
    }

    /// Every line the process wrote, once it has exited (call after killing it).
    pub fn all_lines(mut self) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push((line, false)),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => panic!("the process is still writing"),
            }
        }
        self.seen.into_iter().map(|(line, _)| line).collect()
    }
}

/// Sends `signal` (`KILL`, `STOP`, `CONT`, `TERM` …) to the server.
pub fn signal(server: &RunningServer, signal: &str) {
    let sent = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(server.0.id().to_string())
        .status()
        .unwrap();
    assert!(sent.success(), "kill -{signal} failed");
}

/// One request to the server at `addr` (a JSON body when `body` is not empty): its status and
/// body.
pub fn http(addr: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let response = request(addr, method, path, body, &[]);
    let status = response.status().as_u16();
    (status, response.text().unwrap())
}

/// One request with extra headers; the whole response, for tests that read its headers.
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> reqwest::blocking::Response {
    let client = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap();
    let mut request = client.request(method.parse().unwrap(), format!("http://{addr}{path}"));
    if !body.is_empty() {
        request = request
            .header("content-type", "application/json")
            .body(body.to_owned());
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().unwrap()
}

pub fn post_json(addr: &str, path: &str, body: &str) -> (u16, String) {
    http(addr, "POST", path, body)
}

/// Starts the binary and waits until it listens; returns it, its log and its address.
pub fn start(storage: &std::path::Path, extra: &[(&str, &str)]) -> (RunningServer, Log, String) {
    let mut server = RunningServer(
        server_command(storage, extra)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut log = Log::of(&mut server.0);
    let listening = log.wait_for("listening");
    let addr = listening
        .split("addr=")
        .nth(1)
        .expect("the log names the address")
        .trim()
        .to_owned();
    (server, log, addr)
}

pub fn job_id_of(initiate_body: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(initiate_body).unwrap();
    value["jobId"].as_str().unwrap().to_owned()
}

pub fn wait_until_completed(addr: &str, job_id: &str) {
    // Generous: CI runs the suites side by side on two cores.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, body) = http(addr, "GET", &format!("/v1/download/status/{job_id}"), "");
        if status == 200 && body.contains("\"status\":\"completed\"") {
            return;
        }
        assert!(Instant::now() < deadline, "not completed: {status} {body}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
