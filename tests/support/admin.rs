//! The admin port from a test: an HTTP client that returns whole answers, an admin
//! server started on a fresh port, and waiting for it to list requests.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use inflight::admin::{AdminHandle, AdminServer};
use serde_json::Value;
use tokio::net::TcpListener;

use super::{DEADLINE, eventually};

/// A whole HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; fails the test if it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "not JSON ({error}): {} {:?}\n{}",
                self.status,
                self.headers,
                self.text()
            )
        })
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// Checks the status and returns the JSON body.
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text()
        );
        self.json()
    }

    /// Checks that this is a JSON error `{"error": "..."}` with `status`; returns the text.
    pub fn expect_error(&self, status: u16) -> String {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text()
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "an error is JSON: {self:?}"
        );
        let json = self.json();
        let object = json.as_object().expect("an error is a JSON object");
        assert_eq!(object.len(), 1, "an error has one field: {json}");
        let message = object["error"].as_str().expect("error is a string");
        assert!(!message.is_empty(), "the error says something");
        message.to_owned()
    }
}

/// An HTTP/1 client for one server, returning whole answers.
#[derive(Clone, Debug)]
pub struct Http {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
}

impl Http {
    pub fn new(addr: SocketAddr) -> Http {
        Http {
            client: Client::builder(TokioExecutor::new()).build_http(),
            base: format!("http://{addr}"),
        }
    }

    /// Sends one request and reads the whole answer, within [`DEADLINE`].
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Answer {
        self.send_within(DEADLINE, method, path, headers, body)
            .await
    }

    /// Like [`send`](Http::send), waiting at most `deadline`.
    pub async fn send_within(
        &self,
        deadline: Duration,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Answer {
        let mut request = Request::builder()
            .method(method.clone())
            .uri(format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(body.into()))
            .expect("a valid request");
        let exchange = async {
            let response = self.client.request(request).await?;
            let (parts, body) = response.into_parts();
            let body = body.collect().await?.to_bytes();
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(Answer {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        match tokio::time::timeout(deadline, exchange).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(error)) => panic!("{method} {path} failed: {error:?}"),
            Err(_) => panic!("{method} {path}: no answer within {deadline:?}"),
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, &[], Bytes::new()).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.send(Method::DELETE, path, &[], Bytes::new()).await
    }

    pub async fn post(&self, path: &str, body: &str) -> Answer {
        let headers: &[(&str, &str)] = if body.is_empty() {
            &[]
        } else {
            &[("content-type", "application/json")]
        };
        self.send(Method::POST, path, headers, body.to_owned())
            .await
    }

    /// Starts `GET path` on a task of its own; await the handle for the answer.
    pub fn spawn_get(&self, path: &str) -> tokio::task::JoinHandle<Answer> {
        let http = self.clone();
        let path = path.to_owned();
        tokio::spawn(async move { http.get(&path).await })
    }

    /// Starts a request on a task of its own.
    pub fn spawn(&self, method: Method, path: &str) -> tokio::task::JoinHandle<Answer> {
        let http = self.clone();
        let path = path.to_owned();
        tokio::spawn(async move { http.send(method, &path, &[], Bytes::new()).await })
    }
}

/// Waits until the admin server at `admin` lists `count` requests (with `query`, e.g.
/// `direction=inbound`) and returns them.
pub async fn wait_for_listed(admin: &Http, query: &str, count: usize) -> Vec<Value> {
    eventually(&format!("{count} requests listed for ?{query}"), || async {
        let list = admin.get(&format!("/requests?{query}")).await.expect(200);
        let requests = list["requests"].as_array().cloned().unwrap_or_default();
        (requests.len() == count).then_some(requests)
    })
    .await
}

/// An untracked upstream that waits `delay` before answering any request with `upstream`.
pub async fn serve_slow_upstream(delay: Duration) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |_req| async move {
                    tokio::time::sleep(delay).await;
                    Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(
                        Bytes::from_static(b"upstream"),
                    )))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// Starts `server` on a fresh loopback port; returns its handle and a client for it.
///
/// The server subscribes to finished requests when it binds; asking `/recent` once makes
/// sure it answers before the test's requests start.
pub async fn start_admin(server: AdminServer) -> (AdminHandle, Http) {
    let handle = server.bind("127.0.0.1:0").expect("bind the admin port");
    let http = Http::new(handle.local_addr());
    // With a read token this is a 401 that drains nothing; the token tests do not look
    // at finished requests.
    let answer = http.get("/recent").await;
    assert!(
        answer.status == StatusCode::OK || answer.status == StatusCode::UNAUTHORIZED,
        "{answer:?}"
    );
    (handle, http)
}
