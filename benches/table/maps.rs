//! The two maps a table of requests in flight is often built on, used the way such a table
//! would use them: an `Arc` of an entry the size of inflight's, put in when the request
//! starts and taken out when it ends.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use dashmap::DashMap;
use http::Uri;
use sharded_slab::Slab;

use crate::support::{self, Req};

/// As big as inflight's entry (216 B; 232 B with the `Arc`'s counts), with the fields a
/// dump reads first; the rest stands for route, peer, status and history.
pub struct EntryLike {
    pub id: u64,
    started: u64,
    state: AtomicU64,
    method: u8,
    uri_len: u8,
    uri: [u8; 62],
    _rest: [u64; 16],
}

const _: () = assert!(size_of::<EntryLike>() == 216);

impl EntryLike {
    pub fn new(id: u64, started: u64, uri: &Uri) -> EntryLike {
        let target = uri.path_and_query().map_or("/", |p| p.as_str()).as_bytes();
        let len = target.len().min(62);
        let mut entry = EntryLike {
            id,
            started,
            state: AtomicU64::new(0),
            method: 0,
            uri_len: len as u8,
            uri: [0; 62],
            _rest: [0; 16],
        };
        entry.uri[..len].copy_from_slice(&target[..len]);
        entry
    }

    pub fn uri(&self) -> &[u8] {
        &self.uri[..usize::from(self.uri_len)]
    }

    /// What a dump copies out of each entry: id, start, state, method and URI.
    pub fn write_line(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.id.to_le_bytes());
        out.extend_from_slice(&self.started.to_le_bytes());
        out.extend_from_slice(&self.state.load(Relaxed).to_le_bytes());
        out.push(self.method);
        out.extend_from_slice(self.uri());
        out.push(b'\n');
    }
}

/// A `DashMap` keyed by a sequential id, as a first table would be.
#[derive(Clone, Default)]
pub struct DashTable {
    pub map: Arc<DashMap<u64, Arc<EntryLike>>>,
    next: Arc<AtomicU64>,
}

impl DashTable {
    /// Puts the request in; it stays until [`remove`](Self::remove).
    #[inline]
    pub fn insert(&self, started: u64, request: &Req) -> (u64, Arc<EntryLike>) {
        let id = self.next.fetch_add(1, Relaxed);
        let entry = Arc::new(EntryLike::new(id, started, request.uri()));
        self.map.insert(id, entry.clone());
        (id, entry)
    }

    #[inline]
    pub fn remove(&self, id: u64) {
        self.map.remove(&id);
    }

    /// One request: put in, call the bare service, body drained, taken out.
    #[inline]
    pub fn request<S>(&self, service: &mut S, started: u64, request: Req)
    where
        S: tower::Service<Req, Response = support::Hello>,
    {
        let (id, entry) = self.insert(started, &request);
        support::call_and_drain(service, request);
        self.remove(id);
        drop(entry);
    }
}

/// A `sharded_slab::Slab`: the slot's key is the request's id.
#[derive(Clone, Default)]
pub struct SlabTable {
    pub slab: Arc<Slab<Arc<EntryLike>>>,
}

impl SlabTable {
    #[inline]
    pub fn insert(&self, started: u64, request: &Req) -> (usize, Arc<EntryLike>) {
        let slot = self.slab.vacant_entry().expect("the slab has room");
        let key = slot.key();
        let entry = Arc::new(EntryLike::new(key as u64, started, request.uri()));
        slot.insert(entry.clone());
        (key, entry)
    }

    /// One request: put in, call the bare service, body drained, taken out.
    #[inline]
    pub fn request<S>(&self, service: &mut S, started: u64, request: Req)
    where
        S: tower::Service<Req, Response = support::Hello>,
    {
        let (key, entry) = self.insert(started, &request);
        support::call_and_drain(service, request);
        self.slab.remove(key);
        drop(entry);
    }
}
