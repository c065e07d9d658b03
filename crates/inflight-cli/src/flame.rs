//! `inflight flame`: a CPU profile of one service, from its admin port's
//! `/debug/pprof/profile`, as a flame graph, folded stacks or pprof protobuf.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, ValueEnum};
use http::Method;

use crate::Failure;
use crate::client::{self, Api};
use crate::endpoints::Endpoint;

/// The arguments of `inflight flame`.
#[derive(Args, Debug)]
pub(crate) struct FlameArgs {
    /// The admin port of the service to profile.
    #[arg(long, value_name = "HOST:PORT")]
    endpoint: String,
    /// How long to sample, from 1 to 60 seconds.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=60), value_name = "N")]
    seconds: u64,
    /// svg (a flame graph), folded (`a;b;c 42` lines) or pb (pprof protobuf, for `go tool
    /// pprof`). Default: from the extension of -o (.svg, .folded or .txt, .pb or
    /// .pprof), else svg.
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Write the profile to this file instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Svg,
    Folded,
    Pb,
}

impl Format {
    fn from_extension(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "svg" => Some(Format::Svg),
            "folded" | "txt" => Some(Format::Folded),
            "pb" | "pprof" => Some(Format::Pb),
            _ => None,
        }
    }

    fn query(self) -> &'static str {
        match self {
            Format::Svg => "svg",
            Format::Folded => "folded",
            Format::Pb => "pb",
        }
    }
}

/// Samples `args.seconds` and writes the profile. `token` and `timeout` are the global
/// options; the wait for the answer is the sampling window plus `timeout`.
pub(crate) async fn flame(
    token: Option<String>,
    timeout: Duration,
    args: FlameArgs,
) -> Result<(), Failure> {
    let endpoint = Endpoint::parse(&args.endpoint).map_err(Failure::Usage)?;
    let format = args
        .format
        .or_else(|| args.output.as_deref().and_then(Format::from_extension))
        .unwrap_or(Format::Svg);
    if format == Format::Pb && args.output.is_none() && io::stdout().is_terminal() {
        return Err(Failure::Usage(
            "a pb profile is binary: write it with -o FILE or pipe it to a file".into(),
        ));
    }
    let api = Api::new(token, timeout + Duration::from_secs(args.seconds));
    eprintln!("inflight: sampling {endpoint} for {} s...", args.seconds);
    let path = format!(
        "/debug/pprof/profile?seconds={}&format={}",
        args.seconds,
        format.query()
    );
    let (status, body) = api.call(&endpoint, Method::GET, &path, None).await?;
    if !status.is_success() {
        return Err(client::error_message(&endpoint, status, &body).into());
    }
    match &args.output {
        Some(file) => {
            std::fs::write(file, &body)
                .map_err(|error| format!("cannot write {}: {error}", file.display()))?;
            eprintln!("inflight: wrote {} ({} bytes)", file.display(), body.len());
        }
        None => {
            let mut stdout = io::stdout().lock();
            if let Err(error) = stdout.write_all(&body).and_then(|()| stdout.flush()) {
                if error.kind() != io::ErrorKind::BrokenPipe {
                    return Err(format!("cannot write the output: {error}").into());
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_follows_the_file_name() {
        let of = |name: &str| Format::from_extension(Path::new(name));
        assert_eq!(of("flame.svg"), Some(Format::Svg));
        assert_eq!(of("cpu.PB"), Some(Format::Pb));
        assert_eq!(of("cpu.pprof"), Some(Format::Pb));
        assert_eq!(of("stacks.folded"), Some(Format::Folded));
        assert_eq!(of("profile"), None);
        assert_eq!(of("flame.png"), None);
    }
}
