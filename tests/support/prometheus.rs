//! A real Prometheus server (Debian's `prometheus`) on a loopback port of its own, with a
//! scrape configuration the test writes, stopped when dropped.

use std::net::SocketAddr;
use std::process::{Command, Stdio};

use http::StatusCode;
use serde_json::Value;

use super::admin::Http;
use super::demo::ChildGuard;
use super::{eventually, free_port, temp_dir, tools};

/// One scrape job: its name and the `host:port` targets it scrapes every second.
pub struct Job<'a> {
    pub name: &'a str,
    pub targets: Vec<String>,
}

/// A running Prometheus.
pub struct Prometheus {
    process: ChildGuard,
    /// Where it listens, on 127.0.0.1.
    pub listen: SocketAddr,
    /// Its HTTP API.
    pub http: Http,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts Prometheus scraping `/metrics` of each job's targets every second, and
    /// waits until it is ready.
    pub async fn start(jobs: &[Job<'_>]) -> Prometheus {
        let binary = tools::prometheus();
        let dir = temp_dir("prometheus");
        let mut config = String::from(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n",
        );
        for job in jobs {
            let targets: Vec<String> = job.targets.iter().map(|t| format!("'{t}'")).collect();
            config.push_str(&format!(
                "  - job_name: {}\n    scrape_interval: 1s\n    metrics_path: /metrics\n    \
                 static_configs:\n      - targets: [{}]\n",
                job.name,
                targets.join(", ")
            ));
        }
        let file = dir.path().join("prometheus.yml");
        std::fs::write(&file, config).expect("write the Prometheus config");
        let listen: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let mut command = Command::new(&binary);
        command
            .arg(format!("--config.file={}", file.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={listen}"))
            .stdout(Stdio::null());
        let mut process = ChildGuard::spawn(command);
        let http = Http::new(listen);
        eventually("Prometheus to be ready", || {
            let running = process.running();
            assert!(
                running,
                "Prometheus exited:\n{}",
                process.stderr().join("\n")
            );
            let http = http.clone();
            async move {
                // Connection refused until it listens: probe with a raw connect first.
                tokio::net::TcpStream::connect(listen).await.ok()?;
                (http.get("/-/ready").await.status == StatusCode::OK).then_some(())
            }
        })
        .await;
        Prometheus {
            process,
            listen,
            http,
            _dir: dir,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.listen)
    }

    /// The process, e.g. to see which sockets it listens on.
    pub fn id(&self) -> u32 {
        self.process.id()
    }

    /// Waits until the targets API lists `count` active targets; returns them.
    pub async fn active_targets(&self, count: usize) -> Vec<Value> {
        eventually(
            &format!("Prometheus to list {count} active targets"),
            || async {
                let answer = self
                    .http
                    .get("/api/v1/targets?state=active")
                    .await
                    .expect(200);
                let targets = answer["data"]["activeTargets"].as_array()?.clone();
                (targets.len() == count).then_some(targets)
            },
        )
        .await
    }
}
