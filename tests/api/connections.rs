//! What the server does with connections that send nothing, or nothing more: they are closed
//! after `server.header_read_timeout`, so idle sockets cannot pile up until the process runs
//! out of file descriptors.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::helpers::*;

/// Long enough for a loaded machine to close a few hundred connections cut at 300ms.
const CLOSE_DEADLINE: Duration = Duration::from_secs(15);

async fn app_with_short_header_timeout() -> TestApp {
    TestApp::builder()
        .with("SERVER__HEADER_READ_TIMEOUT", "300ms")
        .spawn()
        .await
}

pub async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .expect("connect")
}

/// Reads (and discards) until the server closes the connection; false if it is still open
/// at `deadline`.
async fn closed_by_server(mut stream: TcpStream, deadline: Instant) -> bool {
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_still_open) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

/// One HTTP/1.1 response read off a raw connection: status, lower-cased head, body.
pub struct RawResponse {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

/// Reads one response with a `Content-Length` body, failing the test after 30 seconds.
pub async fn read_response(stream: &mut TcpStream) -> RawResponse {
    let read = async {
        let mut received = Vec::new();
        let mut buffer = [0u8; 4096];
        loop {
            if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&received[..end]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|line| line.strip_prefix("content-length:"))
                    .map_or(0, |n| n.trim().parse::<usize>().expect("content-length"));
                if received.len() >= end + 4 + length {
                    let status = head
                        .split_whitespace()
                        .nth(1)
                        .and_then(|s| s.parse().ok())
                        .expect("status line");
                    let body = received[end + 4..end + 4 + length].to_vec();
                    return RawResponse { status, head, body };
                }
            }
            let n = stream.read(&mut buffer).await.expect("read");
            assert!(n > 0, "connection closed mid-response: {received:?}");
            received.extend_from_slice(&buffer[..n]);
        }
    };
    tokio::time::timeout(Duration::from_secs(30), read)
        .await
        .expect("a response within 30 seconds")
}

#[tokio::test]
async fn connections_that_never_send_a_byte_are_closed() {
    let app = app_with_short_header_timeout().await;
    let mut silent = Vec::new();
    for _ in 0..300 {
        silent.push(connect(&app).await);
    }
    let deadline = Instant::now() + CLOSE_DEADLINE;
    let waits: Vec<_> = silent
        .into_iter()
        .map(|stream| tokio::spawn(closed_by_server(stream, deadline)))
        .collect();
    let mut still_open = 0;
    for wait in waits {
        if !wait.await.expect("reader task") {
            still_open += 1;
        }
    }
    assert_eq!(still_open, 0, "silent connections left open by the server");
    // A fresh connection is served as usual.
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_its_request() {
    let app = app_with_short_header_timeout().await;
    let mut stream = connect(&app).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let response = read_response(&mut stream).await;
    assert_eq!(response.status, 200, "{}", response.head);
    assert!(String::from_utf8_lossy(&response.body).contains("ok"));
    assert!(
        !response.head.contains("connection: close"),
        "kept alive: {}",
        response.head
    );
    assert!(
        closed_by_server(stream, Instant::now() + CLOSE_DEADLINE).await,
        "the idle keep-alive connection stayed open"
    );
    app.stop().await;
}

#[tokio::test]
async fn an_idle_http2_connection_is_closed() {
    let app = app_with_short_header_timeout().await;
    let mut stream = connect(&app).await;
    // The HTTP/2 connection preface and an empty SETTINGS frame, then nothing.
    let mut preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    preface.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
    stream.write_all(&preface).await.expect("write");
    assert!(
        closed_by_server(stream, Instant::now() + CLOSE_DEADLINE).await,
        "the idle HTTP/2 connection stayed open"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_request_in_flight_is_not_cut_while_the_client_pauses() {
    let app = app_with_short_header_timeout().await;
    let body = serde_json::to_vec(&fixture("gong_webhook.json")).expect("JSON");
    let (first, rest) = body.split_at(body.len() / 2);
    let mut stream = connect(&app).await;
    let head = format!(
        "POST /webhooks/gong HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {WEBHOOK_TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    stream.write_all(first).await.expect("write");
    // Three header read timeouts without a byte, while the request waits for its body.
    tokio::time::sleep(Duration::from_millis(900)).await;
    stream.write_all(rest).await.expect("write");
    let response = read_response(&mut stream).await;
    assert_eq!(response.status, 202, "{}", response.head);
    app.stop().await;
}
