//! Taking tokio's task dump of a runtime: compiled in only where tokio has it.

pub(crate) use dump::{UNSUPPORTED, traces};

#[cfg(all(
    tokio_unstable,
    feature = "taskdump",
    target_os = "linux",
    any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "x86",
        target_arch = "s390x"
    )
))]
mod dump {
    use tokio::runtime::Handle;

    /// Whether this build can dump tasks, and if not, exactly what to set.
    pub(crate) const UNSUPPORTED: Option<&str> = None;

    /// Every task's stack as tokio prints it, one string per task.
    pub(crate) async fn traces(runtime: Handle) -> Result<Vec<String>, String> {
        use tokio::runtime::RuntimeFlavor;

        let dump = match runtime.runtime_flavor() {
            // A current-thread runtime is dumped only from one of its own tasks.
            RuntimeFlavor::CurrentThread => {
                let inside = runtime.clone();
                runtime
                    .spawn(async move { inside.dump().await })
                    .await
                    .map_err(|error| format!("the service's runtime dropped the dump: {error}"))?
            }
            // A multi-thread runtime is dumped from a thread of tokio's own, so nothing of
            // ours shows in it.
            _ => runtime.dump().await,
        };
        // Symbols are resolved from debug info: slow the first time, so off the admin thread.
        tokio::task::spawn_blocking(move || {
            dump.tasks()
                .iter()
                .map(|task| task.trace().to_string())
                .collect()
        })
        .await
        .map_err(|error| format!("resolving the task stacks failed: {error}"))
    }
}

#[cfg(not(all(
    tokio_unstable,
    feature = "taskdump",
    target_os = "linux",
    any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "x86",
        target_arch = "s390x"
    )
)))]
mod dump {
    use tokio::runtime::Handle;

    /// Whether this build can dump tasks, and if not, exactly what to set.
    pub(crate) const UNSUPPORTED: Option<&str> = Some(
        "task dumps are not built in: build the service with RUSTFLAGS=\"--cfg tokio_unstable\" \
         and the `taskdump` feature of inflight (it turns on tokio's `taskdump` feature), on \
         Linux on x86_64, aarch64, x86 or s390x",
    );

    /// Every task's stack as tokio prints it, one string per task.
    pub(crate) async fn traces(_: Handle) -> Result<Vec<String>, String> {
        Err(UNSUPPORTED.unwrap_or_default().to_owned())
    }
}
