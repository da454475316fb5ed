//! Connection deadlines: one FIFO list per timeout class, driven by a single ring timeout.
//!
//! Every class (idle keep-alive, header read, body read, write, linger) has one fixed duration
//! per shard, so deadlines appended to a class's list are already in order: `now + duration`
//! only grows. Each list is intrusive — its links live inside the connection slots
//! ([`TimerLink`], reached through [`LinkStore`]) — so arming, re-arming and disarming are O(1)
//! pointer updates with no allocation, and the earliest deadline of the shard is the minimum of
//! the list heads. The shard arms one io_uring timeout for that minimum and, when it fires, pops
//! what expired with [`TimerLists::pop_expired`].
//!
//! A connection has two link slots: one for its read side (at most one of idle, header, body,
//! linger at a time) and one for its write side. Which slot a class uses is fixed when the
//! lists are built.
//!
//! ```text
//!   idle:   head → c7 (t=60.1s) → c2 (t=60.4s) → c9 (t=61.0s) ← tail
//!   write:  head → c2 (t=30.4s) ← tail
//!   ring timeout armed for min(heads) = 30.4s
//! ```
//!
//! `body_too_slow` is the one deadline that is not a list: a body's allowance grows with the
//! bytes it has received, so it is checked as they arrive (by `crate::pipeline`).
//!
//! What this module does not do: talk to the ring (the shard does), or know what a class means.

use std::time::Duration;

/// "No index": end of a list.
const NIL: u32 = u32::MAX;

/// The links one slot of one connection holds. `class == None` means not in any list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerLink {
    prev: u32,
    next: u32,
    deadline_ns: u64,
    class: Option<u8>,
}

impl Default for TimerLink {
    fn default() -> Self {
        TimerLink { prev: NIL, next: NIL, deadline_ns: 0, class: None }
    }
}

impl TimerLink {
    /// The class this link is armed in, if any.
    pub fn class(&self) -> Option<u8> {
        self.class
    }

    /// The deadline (CLOCK_MONOTONIC ns) while armed.
    pub fn deadline_ns(&self) -> Option<u64> {
        self.class.map(|_| self.deadline_ns)
    }
}

/// Gives the lists access to the links stored in connection slots.
pub trait LinkStore {
    /// The link of entry `index` in link slot `slot` (0 or 1).
    fn link_mut(&mut self, index: u32, slot: usize) -> &mut TimerLink;
}

#[derive(Debug, Clone, Copy)]
struct List {
    head: u32,
    tail: u32,
    len: u32,
    timeout_ns: u64,
    slot: usize,
}

/// The timer lists of one shard.
#[derive(Debug)]
pub struct TimerLists {
    lists: Vec<List>,
}

impl TimerLists {
    /// Lists for the given classes: `(timeout, link slot)` per class, indexed by class number.
    pub fn new(classes: &[(Duration, usize)]) -> TimerLists {
        assert!(classes.len() <= usize::from(u8::MAX), "too many timer classes");
        let lists = classes
            .iter()
            .map(|&(timeout, slot)| {
                assert!(slot < 2, "a connection has two link slots");
                List {
                    head: NIL,
                    tail: NIL,
                    len: 0,
                    timeout_ns: u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX),
                    slot,
                }
            })
            .collect();
        TimerLists { lists }
    }

    fn list(&self, class: u8) -> &List {
        // Classes are the shard's own constants, never derived from input.
        &self.lists[usize::from(class)]
    }

    fn list_mut(&mut self, class: u8) -> &mut List {
        &mut self.lists[usize::from(class)]
    }

    /// Arms `index` in `class` with deadline `now_ns + timeout(class)`, first disarming
    /// whatever that entry had armed in the same link slot.
    pub fn arm(&mut self, store: &mut impl LinkStore, index: u32, class: u8, now_ns: u64) {
        let List { timeout_ns, slot, .. } = *self.list(class);
        self.disarm(store, index, slot);
        let deadline_ns = now_ns.saturating_add(timeout_ns);
        let tail = self.list(class).tail;
        {
            let link = store.link_mut(index, slot);
            *link = TimerLink { prev: tail, next: NIL, deadline_ns, class: Some(class) };
        }
        if tail == NIL {
            self.list_mut(class).head = index;
        } else {
            store.link_mut(tail, slot).next = index;
        }
        let list = self.list_mut(class);
        list.tail = index;
        list.len += 1;
    }

    /// Removes `index` from whichever list its link slot `slot` is in (no-op if none).
    pub fn disarm(&mut self, store: &mut impl LinkStore, index: u32, slot: usize) {
        let link = *store.link_mut(index, slot);
        let Some(class) = link.class else { return };
        if link.prev == NIL {
            self.list_mut(class).head = link.next;
        } else {
            store.link_mut(link.prev, slot).next = link.next;
        }
        if link.next == NIL {
            self.list_mut(class).tail = link.prev;
        } else {
            store.link_mut(link.next, slot).prev = link.prev;
        }
        self.list_mut(class).len -= 1;
        *store.link_mut(index, slot) = TimerLink::default();
    }

    /// The class armed in `index`'s link slot `slot`, if any.
    pub fn armed_class(store: &mut impl LinkStore, index: u32, slot: usize) -> Option<u8> {
        store.link_mut(index, slot).class
    }

    /// The earliest deadline over all lists.
    pub fn next_deadline(&self, store: &mut impl LinkStore) -> Option<u64> {
        self.lists
            .iter()
            .filter(|list| list.head != NIL)
            .map(|list| store.link_mut(list.head, list.slot).deadline_ns)
            .min()
    }

    /// Removes and returns one entry whose deadline is at or before `now_ns`, with its class.
    pub fn pop_expired(&mut self, store: &mut impl LinkStore, now_ns: u64) -> Option<(u32, u8)> {
        for class in 0..self.lists.len() {
            let List { head, slot, .. } = self.lists[class];
            if head != NIL && store.link_mut(head, slot).deadline_ns <= now_ns {
                self.disarm(store, head, slot);
                return Some((head, class as u8));
            }
        }
        None
    }

    /// Entries armed in `class`.
    pub fn len(&self, class: u8) -> u32 {
        self.list(class).len
    }

    /// Walks every list checking links, order and counts. For tests and debug builds.
    pub fn check_invariants(&self, store: &mut impl LinkStore) {
        for (class, list) in self.lists.iter().enumerate() {
            let mut count = 0;
            let mut prev = NIL;
            let mut at = list.head;
            let mut last_deadline = 0;
            while at != NIL {
                let link = *store.link_mut(at, list.slot);
                assert_eq!(link.class, Some(class as u8), "entry {at} is in the wrong list");
                assert_eq!(link.prev, prev, "broken back link at {at}");
                assert!(link.deadline_ns >= last_deadline, "deadlines out of order at {at}");
                last_deadline = link.deadline_ns;
                prev = at;
                at = link.next;
                count += 1;
                assert!(count <= list.len, "list {class} is longer than its count (a cycle?)");
            }
            assert_eq!(prev, list.tail, "tail of list {class}");
            assert_eq!(count, list.len, "count of list {class}");
        }
    }
}

/// Whether a body that started arriving at `since_ns` and has `received` bytes at `now_ns` is
/// behind its allowance: `grace_ns` (`-body-timeout`), plus one second per `rate_min` bytes
/// received (`-body-rate-min`; 0: never behind). The body timeout alone is per pause (its
/// timer is re-armed on each read), so a client sending a byte per pause held its connection
/// slot for good; with this it holds it for `grace + received / rate_min`, and at most one
/// more pause (the check runs as bytes arrive; silence is the body timer's).
pub(crate) fn body_too_slow(
    since_ns: u64,
    now_ns: u64,
    received: u64,
    grace_ns: u64,
    rate_min: u64,
) -> bool {
    if rate_min == 0 {
        return false;
    }
    let earned_ns = u128::from(received) * 1_000_000_000 / u128::from(rate_min);
    let allowed_ns = u128::from(grace_ns) + earned_ns;
    u128::from(now_ns.saturating_sub(since_ns)) > allowed_ns
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_too_slow_past_its_grace_plus_what_its_bytes_earned() {
        let second = 1_000_000_000;
        // 1 s of grace, 1000 B/s: 500 bytes earn 0.5 s, so 1.5 s in all from 10 s.
        let slow = |now, received| body_too_slow(10 * second, now, received, second, 1000);
        let allowed = 10 * second + 1_500_000_000;
        assert!(!slow(allowed - 1, 500), "max - 1");
        assert!(!slow(allowed, 500), "max");
        assert!(slow(allowed + 1, 500), "max + 1");
        assert!(!slow(allowed + 1, 501), "one more byte earns 1 ms");
        assert!(!slow(5 * second, 0), "a clock before the start is not slow");
        assert!(!body_too_slow(0, u64::MAX, 0, 0, 0), "rate 0: no minimum");
        assert!(!body_too_slow(0, u64::MAX, u64::MAX, u64::MAX, 1), "no overflow");
        assert!(body_too_slow(0, u64::MAX, 1, 0, u64::MAX), "a huge rate earns nothing");
    }

    struct Store(Vec<[TimerLink; 2]>);

    impl LinkStore for Store {
        fn link_mut(&mut self, index: u32, slot: usize) -> &mut TimerLink {
            &mut self.0[index as usize][slot]
        }
    }

    const IDLE: u8 = 0;
    const HEADER: u8 = 1;
    const WRITE: u8 = 2;

    fn setup(n: usize) -> (TimerLists, Store) {
        let lists = TimerLists::new(&[
            (Duration::from_nanos(100), 0),
            (Duration::from_nanos(10), 0),
            (Duration::from_nanos(50), 1),
        ]);
        (lists, Store(vec![[TimerLink::default(); 2]; n]))
    }

    #[test]
    fn expiry_follows_deadlines_across_lists() {
        let (mut timers, mut store) = setup(4);
        timers.arm(&mut store, 0, IDLE, 0); // 100
        timers.arm(&mut store, 1, HEADER, 5); // 15
        timers.arm(&mut store, 2, WRITE, 0); // 50
        timers.arm(&mut store, 1, WRITE, 20); // 70; slot 1 of entry 1, header stays armed
        timers.check_invariants(&mut store);
        assert_eq!(timers.next_deadline(&mut store), Some(15));
        assert_eq!(timers.pop_expired(&mut store, 14), None);
        assert_eq!(timers.pop_expired(&mut store, 15), Some((1, HEADER)));
        assert_eq!(timers.pop_expired(&mut store, 60), Some((2, WRITE)));
        assert_eq!(timers.pop_expired(&mut store, 60), None);
        assert_eq!(timers.next_deadline(&mut store), Some(70));
        timers.check_invariants(&mut store);
    }

    #[test]
    fn rearming_moves_to_the_tail_and_disarm_unlinks() {
        let (mut timers, mut store) = setup(3);
        for i in 0..3 {
            timers.arm(&mut store, i, IDLE, u64::from(i));
        }
        timers.arm(&mut store, 0, IDLE, 10); // 0 moves behind 1 and 2
        timers.check_invariants(&mut store);
        assert_eq!(timers.pop_expired(&mut store, 1000), Some((1, IDLE)));
        timers.disarm(&mut store, 2, 0);
        timers.disarm(&mut store, 2, 0); // idempotent
        assert_eq!(timers.len(IDLE), 1);
        assert_eq!(timers.pop_expired(&mut store, 1000), Some((0, IDLE)));
        assert_eq!(timers.len(IDLE), 0);
        assert_eq!(timers.next_deadline(&mut store), None);
        timers.check_invariants(&mut store);
    }

    #[test]
    fn switching_class_in_a_slot_leaves_the_old_list() {
        let (mut timers, mut store) = setup(2);
        timers.arm(&mut store, 0, IDLE, 0);
        timers.arm(&mut store, 0, HEADER, 0);
        assert_eq!(timers.len(IDLE), 0);
        assert_eq!(timers.len(HEADER), 1);
        assert_eq!(TimerLists::armed_class(&mut store, 0, 0), Some(HEADER));
        timers.check_invariants(&mut store);
    }

    #[test]
    fn many_entries_stay_consistent() {
        let (mut timers, mut store) = setup(64);
        let mut now = 0;
        for round in 0..1000u32 {
            let index = (round * 37) % 64;
            let class = (round % 3) as u8;
            now += 1;
            if round % 5 == 0 {
                timers.disarm(&mut store, index, if class == WRITE { 1 } else { 0 });
            } else {
                timers.arm(&mut store, index, class, now);
            }
        }
        timers.check_invariants(&mut store);
        let mut last = 0;
        while let Some(deadline) = timers.next_deadline(&mut store) {
            assert!(deadline >= last);
            last = deadline;
            assert!(timers.pop_expired(&mut store, deadline).is_some());
        }
        timers.check_invariants(&mut store);
    }
}
