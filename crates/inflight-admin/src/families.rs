//! Families of finished requests: the route of an inbound request (its path when it has
//! none), the `host:port` of an outbound call, or the name of work. `/recent`, `/profile` and the metrics
//! share one numbering, so a finished request is named once.

use foldhash::HashMap;

use inflight_core::{Direction, FinishedRequest};

/// Families kept; later ones share one family named `(other)`.
pub(crate) const MAX_FAMILIES: usize = 256;
const OTHER: &str = "(other)";

#[derive(Default)]
pub(crate) struct Families {
    names: Vec<(Direction, String)>,
    /// Inbound, outbound, work.
    index: [HashMap<String, usize>; 3],
    scratch: String,
    /// The family found last: requests of one route tend to end together.
    last: Option<(Direction, String, usize)>,
}

impl Families {
    /// The family of `request`, added if new (or `(other)` once there are too many).
    pub(crate) fn of(&mut self, request: &FinishedRequest<'_>) -> usize {
        let direction = request.direction();
        let mut name = std::mem::take(&mut self.scratch);
        name.clear();
        request.with_route(|route| match route {
            Some(route) => name.push_str(route),
            None => match direction {
                Direction::Inbound => name.push_str(request.path()),
                Direction::Outbound => name.push_str(request.authority().unwrap_or("")),
                // Work's route is its name, so this is only reached for an empty one.
                Direction::Work => {}
            },
        });
        if let Some((last_direction, last_name, index)) = &self.last
            && *last_direction == direction
            && *last_name == name
        {
            let index = *index;
            self.scratch = name;
            return index;
        }
        let index = self.index_of(direction, &name);
        match &mut self.last {
            Some(last) => {
                last.0 = direction;
                last.1.clear();
                last.1.push_str(&name);
                last.2 = index;
            }
            None => self.last = Some((direction, name.clone(), index)),
        }
        self.scratch = name;
        index
    }

    fn index_of(&mut self, direction: Direction, name: &str) -> usize {
        let d = direction as usize;
        if let Some(index) = self.index[d].get(name) {
            return *index;
        }
        let name = if self.names.len() >= MAX_FAMILIES {
            if let Some(index) = self.index[d].get(OTHER) {
                return *index;
            }
            OTHER
        } else {
            name
        };
        self.names.push((direction, name.to_owned()));
        self.index[d].insert(name.to_owned(), self.names.len() - 1);
        self.names.len() - 1
    }

    pub(crate) fn get(&self, index: usize) -> Option<&(Direction, String)> {
        self.names.get(index)
    }
}
