//! A conversation's event stream: the sequence numbers, and the ring of recent events a
//! reconnecting client is replayed from. The ring knows from which `seq` on it is complete, so
//! a replay is either exact (nothing missed included) or refused, never partial.

use crate::ports::KeptRing;
use crate::protocol::{ServerEvent, encode};
use std::collections::VecDeque;
use std::sync::Arc;

pub(super) struct Ring {
    capacity: usize,
    next_seq: u64,
    events: VecDeque<(u64, Arc<str>)>,
    /// Every event after this `seq` is in `events` (or there was none).
    complete_after: u64,
}

impl Ring {
    /// Continue the stream the previous actor kept; without one (a first start, or after a
    /// crash) start from `clock`, above any `seq` a lost actor gave out, so a client holding one
    /// is told to refetch, never misled.
    pub(super) fn new(capacity: usize, kept: Option<KeptRing>, clock: u64) -> Self {
        let mut ring = match kept {
            Some(kept) => Self {
                capacity,
                next_seq: kept.last_seq + 1,
                events: kept.events.into(),
                complete_after: kept.complete_after,
            },
            None => {
                Self { capacity, next_seq: clock, events: VecDeque::new(), complete_after: clock.saturating_sub(1) }
            }
        };
        // A ring kept by a server configured with a larger one.
        ring.trim();
        ring
    }

    /// The latest `seq` given out (`session.last_seq`).
    pub(super) fn latest(&self) -> u64 {
        self.next_seq.saturating_sub(1)
    }

    /// Number `event`, keep it, and return its frame.
    pub(super) fn push(&mut self, event: &ServerEvent) -> Arc<str> {
        let seq = self.next_seq;
        self.next_seq += 1;
        let frame: Arc<str> = encode(Some(seq), event).into();
        self.events.push_back((seq, frame.clone()));
        self.trim();
        frame
    }

    /// Every frame after `last_seq`, in order; `None` when they are not all kept (or `last_seq`
    /// is not one this stream gave out).
    pub(super) fn after(&self, last_seq: u64) -> Option<Vec<Arc<str>>> {
        if last_seq < self.complete_after || last_seq > self.latest() {
            return None;
        }
        Some(self.events.iter().filter(|(seq, _)| *seq > last_seq).map(|(_, frame)| frame.clone()).collect())
    }

    /// What the next actor of this user needs to continue the stream.
    pub(super) fn kept(&self) -> KeptRing {
        KeptRing {
            complete_after: self.complete_after,
            last_seq: self.latest(),
            events: self.events.iter().cloned().collect(),
        }
    }

    /// Within capacity; what falls out can no longer be replayed.
    fn trim(&mut self) {
        while self.events.len() > self.capacity {
            if let Some((seq, _)) = self.events.pop_front() {
                self.complete_after = seq;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLOCK: u64 = 1_700_000_000_000_000;

    fn seqs(frames: &[Arc<str>]) -> Vec<u64> {
        let seq = |f: &Arc<str>| serde_json::from_str::<serde_json::Value>(f).unwrap()["seq"].as_u64().unwrap();
        frames.iter().map(seq).collect()
    }

    #[test]
    fn nothing_missed_is_a_complete_replay() {
        let mut ring = Ring::new(3, None, CLOCK);
        assert_eq!(ring.after(ring.latest()), Some(vec![]), "a fresh stream: nothing to replay, nothing lost");
        let start = ring.latest();
        ring.push(&ServerEvent::Pong);
        assert_eq!(ring.after(start).as_deref().map(seqs), Some(vec![CLOCK]));
        assert_eq!(ring.after(start - 1), None, "before this stream began: not ours to vouch for");
        assert_eq!(ring.after(ring.latest() + 1), None, "a seq never given out");
    }

    #[test]
    fn what_falls_out_of_the_ring_is_owned_up_to() {
        let mut ring = Ring::new(2, None, CLOCK);
        for _ in 0..4 {
            ring.push(&ServerEvent::Pong);
        }
        assert_eq!(ring.after(CLOCK), None, "events after it fell out");
        assert_eq!(ring.after(CLOCK + 1).as_deref().map(seqs), Some(vec![CLOCK + 2, CLOCK + 3]));
    }

    #[test]
    fn a_kept_ring_continues_the_stream_within_the_new_capacity() {
        let mut first = Ring::new(4, None, CLOCK);
        for _ in 0..3 {
            first.push(&ServerEvent::Pong);
        }
        let mut next = Ring::new(2, Some(first.kept()), CLOCK + 5_000_000);
        assert_eq!(next.latest(), CLOCK + 2, "the same stream, not a jump");
        assert_eq!(next.after(CLOCK - 1), None, "the smaller ring dropped the oldest");
        assert_eq!(next.after(CLOCK).as_deref().map(seqs), Some(vec![CLOCK + 1, CLOCK + 2]));
        assert_eq!(next.after(CLOCK + 1).as_deref().map(seqs), Some(vec![CLOCK + 2]));
        next.push(&ServerEvent::Pong);
        assert_eq!(next.after(CLOCK + 2).as_deref().map(seqs), Some(vec![CLOCK + 3]));
    }
}
