//! `inflight tasks`: the task dumps of every endpoint, identical stacks merged across them.

use std::collections::HashMap;

use inflight_wire::TaskDump;
use serde::Serialize;

use crate::Failure;
use crate::client::Api;
use crate::commands::{LsError, fetch_each};
use crate::endpoints::Endpoint;

/// Tasks with one stack, over every endpoint that had it.
#[derive(Debug, Serialize, PartialEq, Eq)]
struct Group<'a> {
    count: usize,
    frames: &'a [String],
    /// Which endpoints had this stack, and how many times; the most first.
    endpoints: Vec<At<'a>>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
struct At<'a> {
    endpoint: &'a str,
    count: usize,
}

#[derive(Serialize)]
struct TasksJson<'a> {
    tasks: usize,
    groups: Vec<Group<'a>>,
    errors: Vec<LsError<'a>>,
}

pub(crate) async fn tasks(api: &Api, endpoints: &[Endpoint], json: bool) -> Result<(), Failure> {
    let answers = fetch_each::<TaskDump>(api, endpoints, "/debug/tasks").await;
    let mut dumps = Vec::new();
    let mut errors = Vec::new();
    for (endpoint, answer) in &answers {
        match answer {
            Ok(dump) => dumps.push((endpoint.name.as_str(), dump)),
            Err(error) => errors.push(LsError {
                endpoint: &endpoint.name,
                error,
            }),
        }
    }
    let tasks = dumps.iter().map(|(_, dump)| dump.tasks).sum();
    let groups = merge(&dumps);
    if json {
        let text = serde_json::to_string_pretty(&TasksJson {
            tasks,
            groups,
            errors,
        })
        .map_err(|e| e.to_string())?;
        outln!("{text}");
    } else {
        for error in &errors {
            eprintln!("inflight: {}", error.error);
        }
        if !dumps.is_empty() {
            out!("{}", render(tasks, dumps.len(), answers.len(), &groups));
        }
    }
    if dumps.is_empty() && !answers.is_empty() {
        return Err(Failure::Failed(format!(
            "none of {} endpoints answered with a task dump",
            answers.len()
        )));
    }
    Ok(())
}

/// The groups of every dump, identical stacks added up, most frequent first (ties by
/// stack, so the order is stable).
fn merge<'a>(dumps: &[(&'a str, &'a TaskDump)]) -> Vec<Group<'a>> {
    let mut by_stack: HashMap<&'a [String], Group<'a>> = HashMap::new();
    for (endpoint, dump) in dumps {
        for group in &dump.groups {
            let merged = by_stack.entry(&group.frames).or_insert_with(|| Group {
                count: 0,
                frames: &group.frames,
                endpoints: Vec::new(),
            });
            merged.count += group.count;
            match merged
                .endpoints
                .iter_mut()
                .find(|at| at.endpoint == *endpoint)
            {
                Some(at) => at.count += group.count,
                None => merged.endpoints.push(At {
                    endpoint,
                    count: group.count,
                }),
            }
        }
    }
    let mut groups: Vec<Group<'a>> = by_stack.into_values().collect();
    for group in &mut groups {
        group
            .endpoints
            .sort_by(|a, b| b.count.cmp(&a.count).then(a.endpoint.cmp(b.endpoint)));
    }
    groups.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.frames.cmp(b.frames)));
    groups
}

fn render(tasks: usize, answered: usize, asked: usize, groups: &[Group<'_>]) -> String {
    let mut out = format!(
        "{tasks} tasks in {} distinct stacks, from {answered} of {asked} endpoints\n",
        groups.len()
    );
    for group in groups {
        let at: Vec<String> = group
            .endpoints
            .iter()
            .map(|at| format!("{} ×{}", at.endpoint, at.count))
            .collect();
        out.push_str(&format!("\n{} tasks  ({})\n", group.count, at.join(", ")));
        if group.frames.is_empty() {
            out.push_str("  (no frames)\n");
        }
        for (depth, frame) in group.frames.iter().enumerate() {
            out.push_str(&format!(
                "  {:indent$}{frame}\n",
                "",
                indent = depth.min(20)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use inflight_wire::TaskGroup;

    use super::*;

    fn dump(groups: &[(usize, &[&str])]) -> TaskDump {
        let mut dump = TaskDump::default();
        dump.groups = groups
            .iter()
            .map(|(count, frames)| {
                TaskGroup::new(*count, frames.iter().map(|f| (*f).to_owned()).collect())
            })
            .collect();
        dump.tasks = dump.groups.iter().map(|g| g.count).sum();
        dump
    }

    #[test]
    fn identical_stacks_add_up_across_endpoints() {
        let gate: &[&str] = &["serve", "wait_for_the_gate"];
        let sleep: &[&str] = &["serve", "sleep"];
        let a = dump(&[(3, gate), (1, sleep)]);
        let b = dump(&[(4, sleep), (2, gate)]);
        let groups = merge(&[("a:1", &a), ("b:2", &b)]);
        assert_eq!(groups.len(), 2);
        assert_eq!(
            (groups[0].count, groups[0].frames[1].as_str()),
            (5, "sleep")
        );
        assert_eq!(
            groups[0].endpoints,
            [
                At {
                    endpoint: "b:2",
                    count: 4
                },
                At {
                    endpoint: "a:1",
                    count: 1
                }
            ]
        );
        assert_eq!(
            (groups[1].count, groups[1].frames[1].as_str()),
            (5, "wait_for_the_gate")
        );
        let text = render(10, 2, 3, &groups);
        assert!(text.starts_with("10 tasks in 2 distinct stacks, from 2 of 3 endpoints\n\n5 tasks  (b:2 ×4, a:1 ×1)\n  serve\n   sleep\n"), "{text}");
    }
}
