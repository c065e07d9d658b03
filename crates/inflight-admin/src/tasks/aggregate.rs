//! Merging task stacks: the poor man's profiler over one dump.

use std::collections::HashMap;
use std::fmt::Write;

use inflight_wire::TaskGroup;

/// Tokio's tree lines (`└╼ f at file:1:2`, indented with spaces and no-break spaces) as
/// frames (`f at file:1:2`), outermost first.
pub(crate) fn frames(trace: &str) -> Vec<String> {
    trace
        .lines()
        .map(|line| {
            line.trim_start_matches([' ', '\u{a0}', '│', '├', '└', '─', '╼'])
                .trim_end()
        })
        .filter(|frame| !frame.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Identical stacks merged with their counts, most frequent first; ties by stack, so the
/// order is the same for the same dump.
pub(crate) fn aggregate(stacks: impl IntoIterator<Item = Vec<String>>) -> Vec<TaskGroup> {
    let mut counts: HashMap<Vec<String>, usize> = HashMap::new();
    for stack in stacks {
        *counts.entry(stack).or_default() += 1;
    }
    let mut groups: Vec<TaskGroup> = counts
        .into_iter()
        .map(|(frames, count)| TaskGroup::new(count, frames))
        .collect();
    groups.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.frames.cmp(&b.frames)));
    groups
}

/// The groups as text: a count line per group, then its frames indented.
pub(crate) fn text(tasks: usize, groups: &[TaskGroup]) -> String {
    let mut out = format!("{tasks} tasks in {} distinct stacks\n", groups.len());
    for group in groups {
        let _ = writeln!(out, "\n{} tasks:", group.count);
        if group.frames.is_empty() {
            out.push_str("  (no frames: the task was not waiting in a tokio future)\n");
        }
        for (depth, frame) in group.frames.iter().enumerate() {
            let _ = writeln!(out, "  {:indent$}{frame}", "", indent = depth.min(20));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const WAITING: &str = "╼ app::serve::{{closure}} at src/main.rs:18:20\n\u{a0}\u{a0}└╼\u{a0}app::wait_for_the_gate::{{closure}} at src/main.rs:23:20\n   └╼ <tokio::sync::notify::Notified as core::future::future::Future>::poll at notify.rs:1103:9\n";

    #[test]
    fn tree_lines_become_frames() {
        assert_eq!(
            frames(WAITING),
            [
                "app::serve::{{closure}} at src/main.rs:18:20",
                "app::wait_for_the_gate::{{closure}} at src/main.rs:23:20",
                "<tokio::sync::notify::Notified as core::future::future::Future>::poll at notify.rs:1103:9",
            ]
        );
    }

    #[test]
    fn identical_stacks_merge_most_frequent_first() {
        let other = "╼ app::sleep::{{closure}} at src/main.rs:40:5\n";
        let groups = aggregate([WAITING, other, WAITING, WAITING].map(frames));
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].count, 3);
        assert_eq!(groups[0].frames, frames(WAITING));
        assert_eq!(groups[1].count, 1);
        let text = text(4, &groups);
        assert!(text.starts_with("4 tasks in 2 distinct stacks\n\n3 tasks:\n  app::serve"));
        assert!(text.contains("\n   app::wait_for_the_gate::{{closure}} at src/main.rs:23:20\n"));
    }
}
