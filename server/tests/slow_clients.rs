//! Slow and idle clients on real sockets: a connection that does not deliver its request headers
//! in time is closed, and however many such connections are open, within the cap, a normal client
//! is still answered.

mod common;

use common::spawn_app;
use std::{net::SocketAddr, time::Duration};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::{timeout, Instant},
};

/// A well-behaved request on a fresh connection; the status line of the answer.
async fn get_health(addr: SocketAddr) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: ferry.test\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Reads until the server closes the connection (or resets it); false if it stays open `within`.
async fn closed_by_server(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buffer = [0u8; 1024];
    let deadline = Instant::now() + within;
    loop {
        match timeout(
            deadline.saturating_duration_since(Instant::now()),
            stream.read(&mut buffer),
        )
        .await
        {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_connections_are_closed_and_normal_clients_are_still_answered() {
    let app = spawn_app(&[("HTTP_HEADER_TIMEOUT_MS", "1000")]).await;
    // 200 clients that start a request and then trickle a header byte every 100 ms, and 50 that
    // connect and send nothing.
    let mut trickling = Vec::new();
    for _ in 0..200 {
        let mut stream = TcpStream::connect(app.addr).await.unwrap();
        stream
            .write_all(b"GET /health HTTP/1.1\r\nHost: ferry.test\r\nX-Slow: ")
            .await
            .unwrap();
        trickling.push(stream);
    }
    let mut idle = Vec::new();
    for _ in 0..50 {
        idle.push(TcpStream::connect(app.addr).await.unwrap());
    }
    let trickle = tokio::spawn(async move {
        let started = Instant::now();
        let mut still_open = trickling.len();
        while started.elapsed() < Duration::from_secs(4) && still_open > 0 {
            still_open = 0;
            for stream in &mut trickling {
                if stream.write_all(b"a").await.is_ok() {
                    still_open += 1;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        trickling
    });

    // While they are all open, a normal client is answered.
    let answered = timeout(Duration::from_secs(5), get_health(app.addr)).await;
    assert_eq!(
        answered.expect("a normal client is answered while slow ones hold connections"),
        "HTTP/1.1 200 OK"
    );

    // Each slow connection is closed by the server once its header deadline passes.
    let mut trickling = trickle.await.unwrap();
    for stream in trickling.iter_mut().chain(idle.iter_mut()) {
        assert!(
            closed_by_server(stream, Duration::from_secs(5)).await,
            "a connection without a complete request head stayed open"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_wait_until_one_is_free() {
    let app = spawn_app(&[
        ("HTTP_HEADER_TIMEOUT_MS", "1500"),
        ("HTTP_MAX_CONNECTIONS", "10"),
    ])
    .await;
    let mut held = Vec::new();
    for _ in 0..10 {
        held.push(TcpStream::connect(app.addr).await.unwrap());
    }
    // Give the server a moment to accept all ten; none of them sends anything.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let waiting = tokio::spawn(get_health(app.addr));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !waiting.is_finished(),
        "an eleventh connection is not served while ten are open"
    );
    // The idle ten time out; the waiting client is then served.
    let status = timeout(Duration::from_secs(5), waiting)
        .await
        .expect("served once the idle connections were closed")
        .unwrap();
    assert_eq!(status, "HTTP/1.1 200 OK");
    for stream in &mut held {
        assert!(closed_by_server(stream, Duration::from_secs(2)).await);
    }
}
