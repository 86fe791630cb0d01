//! A real HTTP file server for origin tests: axum on a free port, serving `/files/{id}` with
//! the behaviour each test gives a file — slow bodies, error statuses, connections dropped
//! midway, a Content-Length that lies, redirects — and counting the requests it answers.

use axum::{
    body::{Body, Bytes},
    extract::{Path, State},
    http::{header, HeaderMap, Method, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

/// How the server answers for one file.
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// The file, sent `chunk` bytes at a time with `pause` between chunks.
    Serve {
        content: Vec<u8>,
        name: Option<String>,
        etag: String,
        chunk: usize,
        pause: Duration,
    },
    /// Always this status.
    Status(u16),
    /// This status for the first `times` requests, then the file.
    FailFirst {
        times: usize,
        status: u16,
        content: Vec<u8>,
    },
    /// Announces the whole file, sends `after` bytes, then breaks the connection.
    DropAfter { content: Vec<u8>, after: usize },
    /// Announces `announced` bytes and sends only `content`.
    ShortBody { content: Vec<u8>, announced: u64 },
    /// A redirect to `location`.
    Redirect { location: String },
}

impl Behaviour {
    /// A file served at once, with an ETag from its content.
    pub fn file(content: Vec<u8>, name: Option<&str>) -> Self {
        let etag = format!(
            "\"{:x}-{}\"",
            content.len(),
            content.iter().map(|b| *b as u64).sum::<u64>()
        );
        Self::Serve {
            content,
            name: name.map(str::to_owned),
            etag,
            chunk: 64 * 1024,
            pause: Duration::ZERO,
        }
    }

    /// The same file, sent in `chunks` pieces `pause` apart.
    pub fn slowly(self, chunks: usize, pause: Duration) -> Self {
        match self {
            Self::Serve {
                content,
                name,
                etag,
                ..
            } => Self::Serve {
                chunk: content.len().div_ceil(chunks).max(1),
                content,
                name,
                etag,
                pause,
            },
            other => other,
        }
    }
}

#[derive(Default)]
struct Files {
    behaviour: HashMap<u64, Behaviour>,
    /// Requests answered per file: (HEAD, GET).
    requests: HashMap<u64, (usize, usize)>,
    /// A header every request must carry, else 403.
    required_header: Option<(String, String)>,
}

/// The running server.
pub struct OriginServer {
    pub port: u16,
    files: Arc<Mutex<Files>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for OriginServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn body_of(content: Vec<u8>, chunk: usize, pause: Duration) -> Body {
    let pieces: Vec<Bytes> = content
        .chunks(chunk.max(1))
        .map(Bytes::copy_from_slice)
        .collect();
    Body::from_stream(futures::stream::unfold(
        (pieces.into_iter(), true),
        move |(mut pieces, first)| async move {
            let piece = pieces.next()?;
            if !first && !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
            Some((Ok::<_, std::io::Error>(piece), (pieces, false)))
        },
    ))
}

async fn serve(
    State(files): State<Arc<Mutex<Files>>>,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> Response {
    let behaviour = {
        let mut files = files.lock().unwrap();
        if let Some((name, value)) = &files.required_header {
            if headers.get(name.as_str()).and_then(|v| v.to_str().ok()) != Some(value.as_str()) {
                return StatusCode::FORBIDDEN.into_response();
            }
        }
        let counts = files.requests.entry(id).or_default();
        let seen = counts.0 + counts.1;
        if method == Method::HEAD {
            counts.0 += 1;
        } else {
            counts.1 += 1;
        }
        match files.behaviour.get(&id).cloned() {
            Some(Behaviour::FailFirst {
                times,
                status,
                content,
            }) => {
                if seen < times {
                    Behaviour::Status(status)
                } else {
                    Behaviour::file(content, None)
                }
            }
            Some(other) => other,
            None => Behaviour::Status(404),
        }
    };
    match behaviour {
        Behaviour::Serve {
            content,
            name,
            etag,
            chunk,
            pause,
        } => {
            let mut response = Response::builder()
                .header(header::CONTENT_LENGTH, content.len())
                .header(header::ETAG, etag)
                .header(header::CONTENT_TYPE, "application/octet-stream");
            if let Some(name) = name {
                response = response.header(
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}\""),
                );
            }
            response.body(body_of(content, chunk, pause)).unwrap()
        }
        Behaviour::Status(status) => StatusCode::from_u16(status).unwrap().into_response(),
        Behaviour::FailFirst { .. } => unreachable!("resolved above"),
        Behaviour::DropAfter { content, after } => {
            let length = content.len();
            let sent = Bytes::copy_from_slice(&content[..after]);
            let stream = futures::stream::iter(vec![
                Ok(sent),
                Err(std::io::Error::other(
                    "the test server drops the connection",
                )),
            ]);
            Response::builder()
                .header(header::CONTENT_LENGTH, length)
                .header(header::ETAG, "\"drop\"")
                .body(Body::from_stream(stream))
                .unwrap()
        }
        Behaviour::ShortBody { content, announced } => Response::builder()
            .header(header::CONTENT_LENGTH, announced)
            .header(header::ETAG, "\"short\"")
            .body(Body::from(content))
            .unwrap(),
        Behaviour::Redirect { location } => Response::builder()
            .status(StatusCode::FOUND)
            .header(header::LOCATION, location)
            .body(Body::empty())
            .unwrap(),
    }
}

impl OriginServer {
    /// Starts the server on a free port of 127.0.0.1.
    pub async fn start() -> Self {
        let files = Arc::new(Mutex::new(Files::default()));
        let router = Router::new()
            .route("/files/{id}", get(serve))
            .with_state(files.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Self { port, files, task }
    }

    /// `http://127.0.0.1:<port>/files/{file_id}`: Ferry's `ORIGIN_URL_TEMPLATE`.
    pub fn url_template(&self) -> String {
        format!("http://127.0.0.1:{}/files/{{file_id}}", self.port)
    }

    /// Sets how `id` is answered from now on.
    pub fn set(&self, id: u64, behaviour: Behaviour) {
        self.files.lock().unwrap().behaviour.insert(id, behaviour);
    }

    /// Demands `name: value` on every request.
    pub fn require_header(&self, name: &str, value: &str) {
        self.files.lock().unwrap().required_header = Some((name.to_owned(), value.to_owned()));
    }

    /// GET requests answered for `id` (every one a full fetch).
    pub fn gets(&self, id: u64) -> usize {
        self.files
            .lock()
            .unwrap()
            .requests
            .get(&id)
            .map_or(0, |c| c.1)
    }

    /// HEAD requests answered for `id`.
    pub fn heads(&self, id: u64) -> usize {
        self.files
            .lock()
            .unwrap()
            .requests
            .get(&id)
            .map_or(0, |c| c.0)
    }
}
