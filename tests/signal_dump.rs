//! The dump on SIGUSR1, from the outside: the demo runs as a real child process, gets real
//! signals from `kill`, and its stderr is read back.
#![cfg(unix)]

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};

use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long the test waits for something that should happen at once.
const DEADLINE: Duration = Duration::from_secs(10);
/// The demo's traffic generator keeps this many `/fetch` requests in flight.
const TRAFFIC: usize = 6;

/// The running demo; killed when dropped, also when the test fails.
struct Demo {
    child: Child,
    pid: u32,
    api: SocketAddr,
    slownode_port: u16,
    /// Everything the demo wrote to stderr so far, one line each.
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Demo {
    fn start() -> Demo {
        let program = support::build::demo_binary();
        let mut args = vec!["--listen", "127.0.0.1:0", "--upstream-delay", "30s"];
        // Options of newer demos: no fixed admin port (tests run in parallel), and nothing
        // but dumps on stderr.
        let help = Command::new(program)
            .arg("--help")
            .stdin(Stdio::null())
            .output()
            .expect("demo --help");
        let help = String::from_utf8_lossy(&help.stdout);
        if help.contains("--admin") {
            args.extend(["--admin", "127.0.0.1:0"]);
        }
        if help.contains("--stuck-after") {
            args.extend(["--stuck-after", "off"]);
        }
        let mut child = Command::new(program)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the demo");
        let pid = child.id();
        let stdout = child.stdout.take().expect("stdout");
        let stderr_pipe = child.stderr.take().expect("stderr");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        {
            let stderr = stderr.clone();
            thread::spawn(move || {
                for line in BufReader::new(stderr_pipe).lines() {
                    let Ok(line) = line else { break };
                    stderr.lock().expect("stderr lines").push(line);
                }
            });
        }
        // Keep the guard alive while reading the banner, so a failure kills the child.
        let mut demo = Demo {
            child,
            pid,
            api: SocketAddr::from(([127, 0, 0, 1], 0)),
            slownode_port: 0,
            stderr,
        };
        let (lines_tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // Keep draining after the banner, so the demo never blocks on a full pipe.
                let _ = lines_tx.send(line);
            }
        });
        let deadline = Instant::now() + DEADLINE;
        loop {
            let line = lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| {
                    panic!(
                        "the demo printed no banner; stderr: {:?}",
                        demo.stderr_lines()
                    )
                });
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["api", url, ..] => {
                    demo.api = url
                        .strip_prefix("http://")
                        .and_then(|addr| addr.parse().ok())
                        .unwrap_or_else(|| panic!("api address in {line:?}"));
                }
                ["slownode", url, ..] => {
                    demo.slownode_port = url
                        .strip_prefix("http://slownode:")
                        .and_then(|port| port.parse().ok())
                        .unwrap_or_else(|| panic!("slownode port in {line:?}"));
                }
                _ => {}
            }
            if demo.api.port() != 0 && demo.slownode_port != 0 {
                break;
            }
        }
        demo
    }

    fn stderr_lines(&self) -> Vec<String> {
        self.stderr.lock().expect("stderr lines").clone()
    }

    fn signal(&self, times: usize) {
        let pid = self.pid.to_string();
        // One `kill` sends them all back to back.
        let status = Command::new("kill")
            .arg("-USR1")
            .args(std::iter::repeat_n(pid.as_str(), times))
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -USR1 {pid} failed");
    }

    fn assert_alive(&mut self) {
        let exited = self.child.try_wait().expect("try_wait");
        assert!(
            exited.is_none(),
            "the demo exited ({exited:?}); stderr: {:?}",
            self.stderr_lines()
        );
    }
}

/// The dumps in `lines`: each a header and the section and request lines after it. The
/// last one may still be arriving.
fn dumps(lines: &[String]) -> Vec<&[String]> {
    let is_body = |line: &String| {
        line == "inbound:"
            || line == "outbound:"
            || line.starts_with("  #")
            || line.starts_with("    #")
    };
    lines
        .iter()
        .enumerate()
        .filter(|(_, line)| line.starts_with("inflight: "))
        .map(|(start, _)| {
            let len = lines[start + 1..]
                .iter()
                .take_while(|line| is_body(line))
                .count();
            &lines[start..=start + len]
        })
        .collect()
}

/// `0.35s`, `47.26s`, `1m34.00s`, `2h03m04.00s`.
fn is_elapsed(text: &str) -> bool {
    let Some(rest) = text.strip_suffix('s') else {
        return false;
    };
    let Some((whole, hundredths)) = rest.split_once('.') else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if hundredths.len() != 2 || !digits(hundredths) {
        return false;
    }
    let parts: Vec<&str> = whole.split(['h', 'm']).collect();
    parts.iter().all(|part| digits(part))
        && parts.iter().skip(1).all(|part| part.len() == 2)
        && parts.len() <= 3
}

/// One request line of the dump.
#[derive(Debug)]
struct Line {
    indent: usize,
    id: u64,
    method: String,
    uri: String,
    status: String,
    attributes: String,
    trace: String,
}

/// Parses `#41 servicing GET "/fetch/1" for 1.20s [status] {k=v} trace=…` after its
/// indent; the trace id must be 32 lowercase hex digits.
fn parse_line(line: &str) -> Option<Line> {
    let indent = line.len() - line.trim_start().len();
    let rest = line.trim_start().strip_prefix('#')?;
    let (id, rest) = rest.split_once(" servicing ")?;
    let (method, rest) = rest.split_once(" \"")?;
    let (uri, rest) = rest.split_once("\" for ")?;
    let (age, rest) = rest.split_once(" [")?;
    let (status, rest) = rest.split_once(']')?;
    let (attributes, trace) = rest.rsplit_once(" trace=")?;
    let hex = |c: char| c.is_ascii_digit() || ('a'..='f').contains(&c);
    if trace.len() != 32 || !trace.chars().all(hex) || !is_elapsed(age) {
        return None;
    }
    Some(Line {
        indent,
        id: id.parse().ok()?,
        method: method.to_owned(),
        uri: uri.to_owned(),
        status: status.to_owned(),
        attributes: attributes.trim().to_owned(),
        trace: trace.to_owned(),
    })
}

/// The dump with every generated `/fetch` waiting on slownode, checked line by line.
fn check_full_dump(dump: &[String], demo: &Demo) -> Result<(), String> {
    let header = format!(
        "inflight: {TRAFFIC} inbound, {TRAFFIC} outbound in flight (pid {}, up ",
        demo.pid
    );
    let uptime = dump[0]
        .strip_prefix(&header)
        .and_then(|rest| rest.strip_suffix(')'))
        .ok_or_else(|| format!("header {:?}", dump[0]))?;
    if !uptime.ends_with('s') || !uptime.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(format!("uptime in {:?}", dump[0]));
    }
    // inbound:, 6 requests each with its call, outbound:, 6 calls.
    if dump.len() != 3 + 3 * TRAFFIC {
        return Err(format!("{} lines", dump.len()));
    }
    if dump[1] != "inbound:" || dump[2 + 2 * TRAFFIC] != "outbound:" {
        return Err("section headers".into());
    }
    let slownode = format!("slownode:{}", demo.slownode_port);
    let mut children = Vec::new();
    for pair in dump[2..2 + 2 * TRAFFIC].chunks(2) {
        let parent = parse_line(&pair[0]).ok_or_else(|| format!("line {:?}", pair[0]))?;
        let child = parse_line(&pair[1]).ok_or_else(|| format!("line {:?}", pair[1]))?;
        let n = parent
            .uri
            .strip_prefix("/fetch/")
            .filter(|n| n.parse::<u64>().is_ok())
            .ok_or_else(|| format!("inbound uri in {:?}", pair[0]))?;
        let awaiting = format!("awaiting {slownode}");
        let status_ok = parent.status == awaiting
            || parent
                .status
                .strip_prefix(&format!("{awaiting} for "))
                .is_some_and(is_elapsed);
        if parent.indent != 2 || parent.method != "GET" || !status_ok {
            return Err(format!("inbound line {:?}", pair[0]));
        }
        let attributes = parent
            .attributes
            .strip_prefix('{')
            .and_then(|rest| rest.strip_suffix('}'))
            .unwrap_or_default();
        if !attributes
            .split(", ")
            .any(|pair| pair == format!("blob={n}"))
        {
            return Err(format!("attributes in {:?}", pair[0]));
        }
        if child.indent != 4
            || child.method != "GET"
            || child.uri != format!("http://{slownode}/blob/{n}")
            || child.status != "awaiting headers"
            || !child.attributes.is_empty()
            || child.trace != parent.trace
        {
            return Err(format!("child line {:?} under {:?}", pair[1], pair[0]));
        }
        children.push((child.id, pair[1].trim_start().to_owned()));
    }
    let mut outbound: Vec<(u64, String)> = dump[3 + 2 * TRAFFIC..]
        .iter()
        .map(|line| {
            let parsed = parse_line(line).filter(|parsed| parsed.indent == 2);
            parsed
                .map(|parsed| (parsed.id, line.trim_start().to_owned()))
                .ok_or_else(|| format!("outbound line {line:?}"))
        })
        .collect::<Result<_, _>>()?;
    children.sort();
    outbound.sort();
    let ids = |lines: &[(u64, String)]| lines.iter().map(|(id, _)| *id).collect::<Vec<_>>();
    if ids(&children) != ids(&outbound) {
        return Err(format!(
            "children {:?} but outbound {:?}",
            ids(&children),
            ids(&outbound)
        ));
    }
    Ok(())
}

fn get_hello(api: SocketAddr) -> String {
    let mut stream = TcpStream::connect(api).expect("connect to the demo");
    stream.set_read_timeout(Some(DEADLINE)).expect("timeout");
    write!(
        stream,
        "GET /hello HTTP/1.1\r\nhost: {api}\r\nconnection: close\r\n\r\n"
    )
    .expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    response
}

#[test]
fn sigusr1_dumps_the_table_and_bursts_coalesce() {
    let mut demo = Demo::start();

    // Signal until a dump shows all generated requests waiting on slownode (they wait
    // 30 s, so once there they stay).
    let deadline = Instant::now() + DEADLINE;
    let mut last_error = String::from("no dump yet");
    'found: loop {
        assert!(
            Instant::now() < deadline,
            "no dump showed every request in flight: {last_error}\nstderr: {:#?}",
            demo.stderr_lines()
        );
        let before = dumps(&demo.stderr_lines()).len();
        demo.signal(1);
        // A dump still arriving fails the check until its last line is in.
        let wait_until = Instant::now() + Duration::from_millis(500);
        while Instant::now() < wait_until {
            thread::sleep(Duration::from_millis(20));
            let lines = demo.stderr_lines();
            if let Some(dump) = dumps(&lines).get(before) {
                match check_full_dump(dump, &demo) {
                    Ok(()) => break 'found,
                    Err(error) => last_error = error,
                }
            }
        }
    }
    demo.assert_alive();

    let before = dumps(&demo.stderr_lines()).len();
    // Signals that arrive during a dump are answered by one more dump: how many dumps a
    // burst gives depends on how the kernel interleaves `kill` with the dump thread
    // (1 to 17 for 1000 signals here), never on the number of signals.
    const BURST: usize = 1000;
    const MAX_BURST_DUMPS: usize = 50;
    demo.signal(BURST);
    // Wait for the dumps the burst caused, then until no more come.
    let deadline = Instant::now() + DEADLINE;
    let (mut seen, mut quiet_since) = (before, Instant::now());
    loop {
        thread::sleep(Duration::from_millis(20));
        let now = dumps(&demo.stderr_lines()).len();
        if now != seen {
            (seen, quiet_since) = (now, Instant::now());
        }
        if seen > before && quiet_since.elapsed() >= Duration::from_secs(1) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no dump after a burst of {BURST} signals"
        );
    }
    demo.assert_alive();
    let burst_dumps = seen - before;
    assert!(
        (1..=MAX_BURST_DUMPS).contains(&burst_dumps),
        "{BURST} signals in a burst gave {burst_dumps} dumps"
    );
    let lines = demo.stderr_lines();
    let all = dumps(&lines);
    for dump in &all[before..] {
        assert!(
            dump[0].starts_with(&format!("inflight: {TRAFFIC} inbound")),
            "{dump:?}"
        );
    }

    let response = get_hello(demo.api);
    assert!(
        response.starts_with("HTTP/1.1 200 OK\r\n"),
        "GET /hello after the signals: {response:?}"
    );
    assert!(response.ends_with("\r\n\r\nhello\n"), "{response:?}");
    demo.assert_alive();
}
