//! The event queue: a binary heap ordered by `(time, seq)`, so that events at the same time pop in the
//! order they were scheduled (FIFO), independent of payload and platform.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::SimTime;

/// An event taken from the queue: when it fires, its insertion number, and its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheduled<E> {
    /// When the event fires.
    pub time: SimTime,
    /// Insertion number; ties on `time` pop in increasing `seq`.
    pub seq: u64,
    /// The payload.
    pub event: E,
}

struct Entry<E> {
    time: SimTime,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.time == other.time && self.seq == other.seq
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    // Reversed: BinaryHeap is a max-heap and we want the earliest (time, seq) first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

/// A min-queue of events ordered by `(time, seq)` with a monotone clock.
///
/// Invariant: `now()` never decreases; an event scheduled in the past is clamped to `now()`
/// (it fires next, after events already due at `now()`).
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    next_seq: u64,
    now: SimTime,
    n_popped: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue at time zero.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty queue with room for `capacity` pending events.
    pub fn with_capacity(capacity: usize) -> Self {
        EventQueue {
            heap: BinaryHeap::with_capacity(capacity),
            next_seq: 0,
            now: SimTime::ZERO,
            n_popped: 0,
        }
    }

    /// The time of the last popped event (zero before the first).
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Schedules `event` at absolute time `time` (clamped to `now()`); returns its `seq`.
    pub fn schedule_at(&mut self, time: SimTime, event: E) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        let time = time.max(self.now);
        self.heap.push(Entry { time, seq, event });
        seq
    }

    /// Schedules `event` after `delay` from `now()`; returns its `seq`.
    pub fn schedule_in(&mut self, delay: SimTime, event: E) -> u64 {
        self.schedule_at(self.now + delay, event)
    }

    /// Pops the earliest event and advances the clock to its time.
    pub fn pop(&mut self) -> Option<Scheduled<E>> {
        let Entry { time, seq, event } = self.heap.pop()?;
        debug_assert!(time >= self.now, "event queue went back in time");
        self.now = time;
        self.n_popped += 1;
        Some(Scheduled { time, seq, event })
    }

    /// The time of the next event, if any.
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|e| e.time)
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True when no event is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Number of events popped so far (the engine's work counter).
    pub fn n_popped(&self) -> u64 {
        self.n_popped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ties_pop_in_insertion_order() {
        let mut q = EventQueue::new();
        q.schedule_at(SimTime(10), 'a');
        q.schedule_at(SimTime(5), 'b');
        q.schedule_at(SimTime(10), 'c');
        q.schedule_at(SimTime(5), 'd');
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|s| s.event)).collect();
        assert_eq!(order, vec!['b', 'd', 'a', 'c']);
        assert_eq!(q.now(), SimTime(10));
        assert_eq!(q.n_popped(), 4);
    }

    #[test]
    fn past_events_are_clamped_to_now() {
        let mut q = EventQueue::new();
        q.schedule_at(SimTime(100), 1);
        q.pop();
        q.schedule_at(SimTime(50), 2);
        let s = q.pop().unwrap();
        assert_eq!(s.time, SimTime(100));
    }

    proptest! {
        #[test]
        fn pops_sorted_by_time_then_seq(times in proptest::collection::vec(0u64..50, 0..200)) {
            let mut q = EventQueue::new();
            for (i, t) in times.iter().enumerate() {
                q.schedule_at(SimTime(*t), i);
            }
            let mut last = (SimTime::ZERO, 0u64);
            let mut n = 0;
            while let Some(s) = q.pop() {
                prop_assert!((s.time, s.seq) >= last);
                prop_assert_eq!(s.time, SimTime(times[s.event]));
                last = (s.time, s.seq);
                n += 1;
            }
            prop_assert_eq!(n, times.len());
        }
    }
}
