//! `inflight`: watch, sort, filter and kill the requests in flight across many services.
//!
//! Exit codes: 0 when everything went well, 1 when something failed (an endpoint could
//! not be reached, a request was not found), 2 for a usage error.

/// `print!` to stdout, ending quietly when the reader went away (`inflight ls | head`).
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::render::write_stdout(format_args!($($arg)*))
    };
}

/// `println!` to stdout, ending quietly when the reader went away.
macro_rules! outln {
    () => {
        out!("\n")
    };
    ($($arg:tt)*) => {
        out!("{}\n", format_args!($($arg)*))
    };
}

mod args;
use args::{DirectionArg, concurrency, duration, trace_id};
mod client;
mod commands;
mod endpoints;
#[cfg(test)]
mod fixtures;
mod flame;
mod render;
mod tasks;
mod top;
mod trace;
mod tree;
mod upstreams;
mod web;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use inflight_wire::TraceId;

use crate::client::Api;
use crate::endpoints::{Endpoint, Sources};

/// Watch, sort, filter and kill the HTTP requests in flight across many services, through
/// their inflight admin ports.
#[derive(Parser, Debug)]
#[command(name = "inflight", version, propagate_version = true)]
struct Cli {
    /// Admin ports to ask, comma-separated: api1:9084,api2:9084.
    #[arg(
        long,
        global = true,
        env = "INFLIGHT_ENDPOINTS",
        value_name = "HOST:PORT,..."
    )]
    endpoints: Option<String>,

    /// A file listing admin ports, one per line; `#` starts a comment.
    #[arg(long, global = true, value_name = "FILE")]
    endpoints_file: Option<String>,

    /// A Prometheus server (http://prometheus:9090): every target it scrapes is an admin
    /// port (they serve /metrics), up or down. Combines with the other sources.
    #[arg(long, global = true, value_name = "URL")]
    prometheus: Option<String>,

    /// A URL answering Prometheus' HTTP service-discovery JSON:
    /// [{"targets": ["host:port", ...], "labels": {"job": "api", ...}}].
    #[arg(long, global = true, value_name = "URL")]
    http_sd: Option<String>,

    /// A file in Prometheus' file service-discovery format: JSON, or YAML when it ends in
    /// .yml or .yaml.
    #[arg(long, global = true, value_name = "FILE")]
    file_sd: Option<String>,

    /// Only the targets of this job (the `job` label) from --prometheus, --http-sd and
    /// --file-sd.
    #[arg(long, global = true, value_name = "NAME")]
    job: Option<String>,

    /// How many admin ports to ask at once; the others wait their turn.
    #[arg(long, global = true, default_value_t = client::DEFAULT_CONCURRENCY, value_parser = concurrency, value_name = "N")]
    concurrency: usize,

    /// Bearer token for the admin ports (the kill token can also read).
    #[arg(long, global = true, env = "INFLIGHT_TOKEN", hide_env_values = true)]
    token: Option<String>,

    /// How long to wait for each admin port (and for Prometheus); one that takes longer
    /// shows as failing.
    #[arg(long, global = true, default_value = "5s", value_parser = duration, value_name = "DURATION")]
    timeout: Duration,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// A live, sortable, filterable table of every request in flight; kill from it.
    Top {
        /// How often to poll the admin ports. An endpoint that has not answered by the
        /// next refresh shows as failing; the others are shown without waiting for it.
        #[arg(long, default_value = "1s", value_parser = duration, value_name = "DURATION")]
        refresh: Duration,
        /// How often to ask --prometheus, --http-sd or --file-sd again, so new targets
        /// appear and gone ones leave.
        #[arg(long, default_value = "30s", value_parser = duration, value_name = "DURATION")]
        rediscover: Duration,
        /// No screen: print one line per refresh saying how many endpoints answered in
        /// time, then one per failing endpoint (for logs and measurements).
        #[arg(long)]
        batch: bool,
        /// With --batch: stop after this many refreshes.
        #[arg(long, requires = "batch", value_name = "N")]
        iterations: Option<u64>,
    },
    /// One table (or JSON) of the requests in flight at every endpoint, oldest first.
    Ls {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Only requests in flight at least this long (250ms, 5s, 1m).
        #[arg(long, value_parser = duration, value_name = "DURATION")]
        min_age: Option<Duration>,
        /// Only inbound requests, only outbound ones, or only work.
        #[arg(long, value_enum, conflicts_with = "tree")]
        direction: Option<DirectionArg>,
        /// One call tree over all endpoints, joined by trace context; with --min-age,
        /// the trees whose first request is at least that old.
        #[arg(long)]
        tree: bool,
    },
    /// One request with its status history.
    Show {
        /// The admin port that has it (host:port).
        endpoint: String,
        /// The request id.
        id: u64,
    },
    /// Terminate a request now, or ask it to cancel; with --trace, every request of a
    /// trace at every endpoint.
    Kill {
        /// The admin port that has it (host:port).
        #[arg(required_unless_present = "trace")]
        endpoint: Option<String>,
        /// The request id.
        #[arg(required_unless_present = "trace")]
        id: Option<u64>,
        /// Every request of this trace (32 hex digits) at every endpoint instead. Exit 1
        /// when none is in flight anywhere; requests that end meanwhile are no failure.
        #[arg(long, value_parser = trace_id, value_name = "TRACE_ID", conflicts_with_all = ["endpoint", "id"])]
        trace: Option<TraceId>,
        /// Ask the handler to cancel instead; it is terminated after the grace period.
        #[arg(long)]
        cancel: bool,
        /// Why; shown to the client and in the request's status.
        #[arg(long)]
        message: Option<String>,
        /// With --cancel: how long the handler has before it is terminated.
        #[arg(long, requires = "cancel", value_parser = duration, value_name = "DURATION")]
        grace: Option<Duration>,
    },
    /// Every hop of a trace at every endpoint, oldest first: requests sent and received,
    /// replies sent and received, and what is still in flight. A trace no endpoint knows
    /// is an empty answer, exit 0.
    Trace {
        /// The trace id: 32 hex digits.
        #[arg(value_parser = trace_id, value_name = "TRACE_ID")]
        trace: TraceId,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// The text dump of each endpoint, as on SIGUSR1 / ^T.
    Dump {
        /// Admin ports (default: --endpoints).
        // Not named `endpoints`: clap would take it for the global `--endpoints` and
        // refuse that flag after `dump`.
        #[arg(value_name = "ENDPOINT")]
        only: Vec<String>,
    },
    /// The last finished requests per route, by latency bucket, and the last errors.
    Recent {
        /// The admin port (host:port).
        endpoint: String,
    },
    /// Time spent per route and status.
    Profile {
        /// The admin port (host:port).
        endpoint: String,
    },
    /// Where the tokio tasks of every endpoint wait: their task dumps, identical stacks
    /// added up across endpoints, most frequent first. Needs services built with task
    /// dumps (an endpoint without them says so, and the others are still shown).
    Tasks {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// The outbound calls in flight at every endpoint, grouped by target host:port, the
    /// target with the most calls first.
    Upstreams {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// The target with the oldest call first.
        #[arg(long)]
        oldest: bool,
    },
    #[command(
        after_help = "Example: inflight web --endpoints api1:9084,api2:9084 --kill-token K, \
                      then open http://127.0.0.1:7000/"
    )]
    /// Serve the web page on this machine, reaching every endpoint through this server:
    /// no endpoint needs to allow the page's origin. Binds loopback; --token is sent with
    /// the page's reads, --kill-token with its kills, unless the page gives its own.
    Web(web::WebArgs),
    /// Print the URL of the web page watching the endpoints, to paste in a chat.
    Link(web::LinkArgs),
    #[command(
        after_help = "Example: inflight flame --endpoint api1:9084 --seconds 10 -o flame.svg"
    )]
    /// A CPU profile of one service (its admin port's /debug/pprof/profile): a flame
    /// graph, folded stacks or pprof protobuf. The service needs the `pprof` feature.
    Flame(flame::FlameArgs),
}

/// What went wrong, and which exit code it gets.
#[derive(Clone, Debug)]
enum Failure {
    /// Bad arguments: exit 2.
    Usage(String),
    /// Something failed: exit 1. The message was printed already if empty.
    Failed(String),
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure::Failed(message)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("inflight: cannot start: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprintln!("inflight: {message}\n\nFor more information, try '--help'.");
            ExitCode::from(2)
        }
        Err(Failure::Failed(message)) => {
            if !message.is_empty() {
                eprintln!("inflight: {message}");
            }
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let api = Api::new(cli.token.clone(), cli.timeout).with_concurrency(cli.concurrency);
    let sources = Sources {
        list: cli.endpoints.clone(),
        file: cli.endpoints_file.clone(),
        prometheus: cli.prometheus.clone(),
        http_sd: cli.http_sd.clone(),
        file_sd: cli.file_sd.clone(),
        job: cli.job.clone(),
    };
    // Asked once, up front; a command that takes one endpoint never looks at it.
    let resolved = sources.resolve(&api).await;
    let all = || resolved.clone();
    let one = |text: &str| Endpoint::parse(text).map_err(Failure::Usage);
    match cli.command {
        Command::Top {
            refresh,
            rediscover,
            batch,
            iterations,
        } => {
            let options = top::Options {
                refresh,
                rediscover: sources.discovers().then_some((sources.clone(), rediscover)),
                batch: batch.then_some(iterations),
            };
            top::run(api, all()?, options).await
        }
        Command::Ls {
            json,
            min_age,
            tree: true,
            ..
        } => commands::ls_tree(&api, &all()?, json, min_age).await,
        Command::Ls {
            json,
            min_age,
            direction,
            tree: false,
        } => {
            commands::ls(
                &api,
                &all()?,
                json,
                min_age,
                direction.map(DirectionArg::as_query),
            )
            .await
        }
        Command::Show { ref endpoint, id } => commands::show(&api, &one(endpoint)?, id).await,
        Command::Kill {
            trace: Some(trace_id),
            cancel,
            ref message,
            grace,
            ..
        } => trace::kill_trace(&api, &all()?, trace_id, cancel, message.clone(), grace).await,
        Command::Kill {
            endpoint: Some(ref endpoint),
            id: Some(id),
            cancel,
            ref message,
            grace,
            ..
        } => commands::kill(&api, &one(endpoint)?, id, cancel, message.clone(), grace).await,
        Command::Kill { .. } => Err(Failure::Usage(
            "kill takes ENDPOINT ID, or --trace TRACE_ID".into(),
        )),
        Command::Trace {
            trace: trace_id,
            json,
        } => trace::trace(&api, &all()?, trace_id, json).await,
        Command::Dump { ref only } => {
            let endpoints = if only.is_empty() {
                all()?
            } else {
                only.iter().map(|e| one(e)).collect::<Result<_, _>>()?
            };
            commands::dump(&api, &endpoints).await
        }
        Command::Recent { ref endpoint } => commands::recent(&api, &one(endpoint)?).await,
        Command::Profile { ref endpoint } => commands::profile(&api, &one(endpoint)?).await,
        Command::Tasks { json } => tasks::tasks(&api, &all()?, json).await,
        Command::Upstreams { json, oldest } => {
            let order = if oldest {
                upstreams::Order::Oldest
            } else {
                upstreams::Order::Biggest
            };
            upstreams::upstreams(&api, &all()?, json, order).await
        }
        Command::Web(args) => {
            let endpoints = all()?;
            web::serve(api, sources, endpoints, cli.token, args).await
        }
        Command::Flame(args) => flame::flame(cli.token, cli.timeout, args).await,
        Command::Link(ref args) => {
            outln!("{}", web::link(all(), sources.given(), args)?);
            Ok(())
        }
    }
}
