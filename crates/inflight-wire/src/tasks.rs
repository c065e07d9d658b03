//! Task dumps: where the tasks of a tokio runtime wait, identical stacks merged.

use serde::{Deserialize, Serialize};

use crate::Origin;

/// `GET /debug/tasks`: tokio's task dump of the service's runtime, aggregated.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct TaskDump {
    /// Who answered.
    #[serde(flatten)]
    pub origin: Origin,
    /// How many tasks the dump saw.
    pub tasks: usize,
    /// Tasks with identical stacks, most frequent first (ties by stack).
    pub groups: Vec<TaskGroup>,
}

/// Tasks whose stacks are identical.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskGroup {
    /// How many tasks have this stack.
    pub count: usize,
    /// The stack, outermost first: `function at file:line:column`, one per frame.
    pub frames: Vec<String>,
}

impl TaskGroup {
    /// A group of `count` tasks waiting in `frames`.
    pub fn new(count: usize, frames: Vec<String>) -> TaskGroup {
        TaskGroup { count, frames }
    }
}
