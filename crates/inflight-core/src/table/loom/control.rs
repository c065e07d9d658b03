//! Terminate, cancel and forbid against a request's end and against each other, the
//! waker handshake, and the subscription's drain.

use super::*;

#[test]
fn loom_terminating_an_ended_request_never_hits_the_next_in_its_slot() {
    explore(None, || {
        let table = table(1);
        // The first request's slot is the page's only free one once it ends.
        let first = register(&table);
        let held: Vec<Tracked> = (0..3).map(|_| register(&table)).collect();
        let id = first.id();
        let requests = {
            let table = table.clone();
            thread::spawn(move || {
                first.finish(Ending::Completed);
                register(&table)
            })
        };
        let terminated = table.terminate(id, Some("stop".into()));
        let next = requests.join().unwrap();
        match terminated {
            Ok(before) => assert_eq!(before.id, id),
            Err(ControlError::NotFound(missing)) => assert_eq!(missing, id),
            Err(error) => panic!("{error}"),
        }
        assert!(
            !entry(&next).terminated(),
            "the next request was terminated"
        );
        assert!(matches!(
            table.terminate(id, None),
            Err(ControlError::NotFound(_))
        ));
        drop((held, next));
    });
}

/// An operator's cancel or terminate races the handler's `forbid_cancel`: exactly one
/// wins, and whoever sees the operator's bit finds the operator's message.
fn race_forbid(terminate: bool) {
    explore(None, move || {
        let table = table(1);
        let request = register(&table);
        let id = request.id();
        let handler = {
            let entry = table.find(id).unwrap();
            thread::spawn(move || {
                let forbade = RequestHandle::new(entry.clone()).forbid_cancel();
                let asked = entry.cancel_requested() || entry.terminated();
                if asked {
                    assert_eq!(entry.control_message().as_deref(), Some("stop"));
                }
                assert!(!(forbade && asked), "forbidden, and asked all the same");
                forbade
            })
        };
        let operator = if terminate {
            table.terminate(id, Some("stop".into()))
        } else {
            table.cancel(id, Some("stop".into()))
        };
        let forbade = handler.join().unwrap();
        match operator {
            Ok(_) => assert!(!forbade, "both the forbid and the operator won"),
            Err(ControlError::Forbidden(_)) => assert!(forbade, "neither won"),
            Err(ControlError::NotFound(_)) => panic!("#{id} not found"),
        }
        let entry = entry(&request);
        assert_eq!(entry.cancel_forbidden(), forbade);
        assert_eq!(
            entry.terminated() || entry.cancel_requested(),
            !forbade,
            "the bits disagree with the answers"
        );
    });
}

#[test]
fn loom_cancel_or_forbid_exactly_one_wins() {
    race_forbid(false);
}

#[test]
fn loom_terminate_or_forbid_exactly_one_wins() {
    race_forbid(true);
}

struct Woken(AtomicBool);

impl Wake for Woken {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.store(true, Release);
    }
}

#[test]
fn loom_a_request_going_to_sleep_as_it_is_terminated_is_woken_or_sees_it() {
    explore(None, || {
        let table = table(1);
        let request = register(&table);
        let id = request.id();
        let woken = std::sync::Arc::new(Woken(AtomicBool::new(false)));
        let task = {
            let woken = woken.clone();
            thread::spawn(move || {
                // What the layer's future and body do when the inner one is pending.
                let entry = entry(&request);
                entry.register_waker(&Waker::from(woken));
                let saw = entry.terminated();
                (request, saw)
            })
        };
        assert!(table.terminate(id, None).is_ok());
        let (request, saw) = task.join().unwrap();
        assert!(
            saw || woken.0.load(Acquire),
            "the task sleeps on through the termination"
        );
        request.finish(Ending::Terminated);
    });
}

#[test]
fn loom_each_ended_request_is_drained_once_or_counted_dropped() {
    explore(None, || {
        let table = table(1);
        let mut subscription = table.subscribe();
        let requests: Vec<Tracked> = (0..3).map(|_| register(&table)).collect();
        let ids: Vec<u64> = requests.iter().map(Tracked::id).collect();
        let ender = {
            let table = table.clone();
            thread::spawn(move || {
                let mut requests = requests.into_iter();
                requests.next().unwrap().finish(Ending::Completed);
                requests.next().unwrap().finish(Ending::Failed);
                // May reuse an entry the subscriber handed back.
                register(&table).finish(Ending::Completed);
                drop(requests);
            })
        };
        let mut drained: Vec<(u64, Ending)> = Vec::new();
        let mut drain = |subscription: &mut Subscription| {
            subscription.drain(|ended| drained.extend(ended.iter().map(|r| (r.id(), r.ending()))))
        };
        drain(&mut subscription);
        ender.join().unwrap();
        drain(&mut subscription);
        let unique: HashSet<u64> = drained.iter().map(|(id, _)| *id).collect();
        assert_eq!(unique.len(), drained.len(), "drained twice: {drained:?}");
        for (id, ending) in &drained[..] {
            let index = ids.iter().position(|known| known == id);
            match index {
                Some(0) => assert_eq!(*ending, Ending::Completed),
                Some(1) => assert_eq!(*ending, Ending::Failed),
                Some(_) => assert_eq!(*ending, Ending::DroppedEarly),
                None => assert_eq!(*ending, Ending::Completed),
            }
        }
        let totals = table.totals();
        assert_eq!(ended(&totals), 4);
        assert_eq!(
            drained.len() as u64 + subscription.dropped(),
            4,
            "{drained:?}"
        );
        drop(subscription);
    });
}
