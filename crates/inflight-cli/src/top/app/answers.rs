//! What the poller tells the app about the endpoints: answers, late polls, and the
//! endpoints found again.

use std::time::Instant;

use inflight_wire::RequestList;

use super::{App, EndpointState};
use crate::endpoints::Endpoint;

impl App {
    /// New answers from the endpoints.
    #[cfg(test)]
    pub(crate) fn update(
        &mut self,
        answers: Vec<(Endpoint, Result<RequestList, String>)>,
        at: Instant,
    ) {
        for (endpoint, result) in answers {
            self.record(&endpoint, result, at);
        }
        self.rebuild();
    }

    /// One endpoint's answer, kept without rebuilding the rows: a refresh over many
    /// endpoints brings many answers, and the rows are rebuilt once for all of them.
    pub(crate) fn record(
        &mut self,
        endpoint: &Endpoint,
        result: Result<RequestList, String>,
        at: Instant,
    ) {
        if let Some(state) = self.state_mut(endpoint) {
            state.result = result;
            state.fetched_at = at;
            state.late_since = None;
        }
    }

    /// `endpoint` has not answered a poll sent at `since`, and missed a refresh.
    pub(crate) fn late(&mut self, endpoint: &Endpoint, since: Instant) {
        if let Some(state) = self.state_mut(endpoint) {
            state.late_since = Some(since);
        }
    }

    /// The endpoints found again: the known ones keep their last answer, new ones wait for
    /// their first, gone ones leave with their rows.
    pub(crate) fn set_endpoints(&mut self, endpoints: &[Endpoint]) {
        let mut old = std::mem::take(&mut self.endpoints);
        self.endpoints = endpoints
            .iter()
            .map(|endpoint| {
                match old
                    .iter()
                    .position(|state| state.endpoint.base == endpoint.base)
                {
                    Some(index) => {
                        let mut state = old.swap_remove(index);
                        state.endpoint = endpoint.clone();
                        state
                    }
                    None => EndpointState::new(endpoint.clone()),
                }
            })
            .collect();
        self.rebuild();
    }

    fn state_mut(&mut self, endpoint: &Endpoint) -> Option<&mut EndpointState> {
        self.endpoints
            .iter_mut()
            .find(|state| state.endpoint.base == endpoint.base)
    }
}
