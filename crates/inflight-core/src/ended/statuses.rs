//! Statuses numbered once per table, so a kept record names each status in two bytes.
//! The layers' automatic statuses have fixed numbers; a handler's own texts are numbered
//! as they come, up to a bound, after which they count as `(other)`.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use crate::status::StatusText;

/// Statuses a table numbers, besides the automatic ones.
pub(crate) const MAX_STATUSES: usize = 1024;

pub(crate) struct StatusNames {
    names: Mutex<Registry>,
}

struct Registry {
    texts: Vec<Box<str>>,
    index: HashMap<Box<str>, u16>,
    scratch: String,
}

/// The automatic statuses, by number.
const AUTOMATIC: [&str; 9] = [
    "in handler",
    "writing body",
    "client not reading",
    "awaiting headers",
    "reading body",
    "caller not reading",
    "working",
    "cancel requested",
    "terminating",
];

impl StatusNames {
    /// The number of `(other)`.
    pub(crate) const OTHER: u16 = AUTOMATIC.len() as u16;

    pub(crate) fn new() -> StatusNames {
        StatusNames {
            names: Mutex::new(Registry {
                texts: Vec::new(),
                index: HashMap::new(),
                scratch: String::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.names
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The number of `status`, given one if new.
    pub(crate) fn id_of(&self, status: &StatusText) -> u16 {
        let fixed = match status {
            StatusText::InHandler => 0,
            StatusText::WritingBody => 1,
            StatusText::ClientNotReading => 2,
            StatusText::AwaitingHeaders => 3,
            StatusText::ReadingBody => 4,
            StatusText::CallerNotReading => 5,
            StatusText::Working => 6,
            StatusText::CancelRequested => 7,
            StatusText::Terminating => 8,
            StatusText::User(_) | StatusText::Awaiting { .. } => u16::MAX,
        };
        if fixed != u16::MAX {
            return fixed;
        }
        let mut registry = self.lock();
        let registry = &mut *registry;
        registry.scratch.clear();
        let _ = status.write_to(&mut registry.scratch);
        if let Some(id) = registry.index.get(registry.scratch.as_str()) {
            return *id;
        }
        if registry.texts.len() >= MAX_STATUSES {
            return Self::OTHER;
        }
        let id = Self::OTHER + 1 + registry.texts.len() as u16;
        let text: Box<str> = registry.scratch.as_str().into();
        registry.texts.push(text.clone());
        registry.index.insert(text, id);
        id
    }

    /// The text of status `id`.
    pub(crate) fn name(&self, id: u16) -> String {
        if let Some(text) = AUTOMATIC.get(usize::from(id)) {
            return (*text).to_owned();
        }
        if id == Self::OTHER {
            return super::names::OTHER.to_owned();
        }
        let at = usize::from(id - Self::OTHER - 1);
        self.lock()
            .texts
            .get(at)
            .map_or_else(|| super::names::OTHER.to_owned(), |text| text.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn statuses_round_trip_and_are_bounded() {
        let names = StatusNames::new();
        for status in [
            StatusText::InHandler,
            StatusText::WritingBody,
            StatusText::ClientNotReading,
            StatusText::AwaitingHeaders,
            StatusText::ReadingBody,
            StatusText::CallerNotReading,
            StatusText::Working,
            StatusText::CancelRequested,
            StatusText::Terminating,
            StatusText::User("querying db".into()),
            StatusText::Awaiting {
                target: Arc::from("db:5432"),
                more: 1,
            },
        ] {
            assert_eq!(names.name(names.id_of(&status)), status.to_string());
        }
        for n in 0..MAX_STATUSES * 2 {
            names.id_of(&StatusText::User(format!("status {n}").into()));
        }
        assert_eq!(
            names.id_of(&StatusText::User("one more".into())),
            StatusNames::OTHER
        );
        assert_eq!(names.name(StatusNames::OTHER), "(other)");
    }
}
