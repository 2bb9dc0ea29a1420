//! What each written key may hold at the end: the model the read-back checks against.
//!
//! Each written key has one writer (one task), so its writes never overlap. A key starts
//! absent; an acknowledged write (a put of a version, or a delete) leaves exactly that; a
//! failed write may or may not have been applied, so it adds a possibility. A fleet clear,
//! which runs while no write is in flight, makes every key absent when it is acknowledged, and
//! adds "absent" to every key when it failed (its increment may have been applied); writes
//! acknowledged soon after such a clear may have been written under the older generation
//! (the process adopts the new one at its next poll), so they only add possibilities too.
//!
//! A key with one possibility is certain: the read-back must find exactly that.

use std::time::Instant;

/// What a key holds: `ABSENT`, or the version of the value written (never 0).
pub type Outcome = u64;

/// No value: never written, deleted, or cleared.
pub const ABSENT: Outcome = 0;

/// The most possibilities kept for a key; past it, the key is not checked.
const MAX_POSSIBLE: usize = 4;

/// The possibilities of one key, in place (no allocation per key).
#[derive(Debug, Clone, Copy)]
struct Slot {
    possible: [Outcome; MAX_POSSIBLE],
    len: u8,
    /// More failed writes than can be kept: anything is possible.
    anything: bool,
}

impl Slot {
    const ABSENT: Slot = Slot {
        possible: [ABSENT; MAX_POSSIBLE],
        len: 1,
        anything: false,
    };

    fn only(outcome: Outcome) -> Slot {
        Slot {
            possible: [outcome; MAX_POSSIBLE],
            len: 1,
            anything: false,
        }
    }

    fn add(&mut self, outcome: Outcome) {
        let len = usize::from(self.len);
        if self.possible[..len].contains(&outcome) {
            return;
        }
        if len == MAX_POSSIBLE {
            self.anything = true;
            return;
        }
        self.possible[len] = outcome;
        self.len += 1;
    }
}

/// What the read-back expects of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// Exactly this: the key's last write was acknowledged (or it was never written, or the
    /// last acknowledged clear came after).
    Certain(Outcome),
    /// One of these: a write (or a clear) after the last acknowledged one failed.
    OneOf(Vec<Outcome>),
    /// Too many failed writes to keep track of: not checked.
    Anything,
}

impl Expect {
    /// Whether `found` is what this expects.
    pub fn allows(&self, found: Outcome) -> bool {
        match self {
            Expect::Certain(outcome) => *outcome == found,
            Expect::OneOf(outcomes) => outcomes.contains(&found),
            Expect::Anything => true,
        }
    }
}

/// The possibilities of every written key, by slot (a dense index the workload gives each
/// written key), allocated once for all of them.
#[derive(Debug)]
pub struct Model {
    slots: Vec<Slot>,
    /// Until then, acknowledged writes may carry the generation a failed clear left behind.
    uncertain_until: Option<Instant>,
    /// Acknowledged clears, and failed ones.
    clears: (u64, u64),
}

impl Model {
    /// `slots` keys, all absent.
    pub fn new(slots: usize) -> Model {
        Model {
            slots: vec![Slot::ABSENT; slots],
            uncertain_until: None,
            clears: (0, 0),
        }
    }

    /// How many keys the model holds.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// A write of `outcome` to `slot` (a delete: `ABSENT`), started at `started`, was
    /// acknowledged.
    pub fn acknowledged(&mut self, slot: usize, outcome: Outcome, started: Instant) {
        let Some(entry) = self.slots.get_mut(slot) else {
            return;
        };
        match self.uncertain_until {
            // A delete leaves the key absent, whatever the generation.
            Some(until) if started <= until && outcome != ABSENT => {
                entry.add(outcome);
                entry.add(ABSENT);
            }
            _ => *entry = Slot::only(outcome),
        }
    }

    /// A write of `outcome` to `slot` failed: it may have been applied.
    pub fn attempted(&mut self, slot: usize, outcome: Outcome) {
        if let Some(entry) = self.slots.get_mut(slot) {
            entry.add(outcome);
        }
    }

    /// A fleet clear was acknowledged, with no write in flight: every key is absent.
    pub fn cleared(&mut self) {
        self.slots.fill(Slot::ABSENT);
        self.uncertain_until = None;
        self.clears.0 += 1;
    }

    /// A fleet clear is starting, with no write in flight: until it is acknowledged, every key
    /// may be absent, and writes started before `until` (past this process's next generation
    /// poll) may be lost to it.
    pub fn clear_started(&mut self, until: Instant) {
        for entry in &mut self.slots {
            entry.add(ABSENT);
        }
        self.uncertain_until = Some(until);
    }

    /// A fleet clear failed, after its retries: as [`clear_started`](Model::clear_started),
    /// and counted.
    pub fn clear_failed(&mut self, until: Instant) {
        self.clear_started(until);
        self.clears.1 += 1;
    }

    /// Acknowledged and failed clears so far.
    pub fn clears(&self) -> (u64, u64) {
        self.clears
    }

    /// What the read-back expects of `slot`.
    pub fn expect(&self, slot: usize) -> Expect {
        let Some(entry) = self.slots.get(slot) else {
            return Expect::Anything;
        };
        match (entry.anything, entry.len) {
            (true, _) => Expect::Anything,
            (false, 1) => Expect::Certain(entry.possible[0]),
            (false, len) => Expect::OneOf(entry.possible[..usize::from(len)].to_vec()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn acknowledged_writes_are_certain_and_failed_ones_add_possibilities() {
        let now = Instant::now();
        let mut model = Model::new(3);
        assert_eq!(model.expect(0), Expect::Certain(ABSENT));
        model.acknowledged(0, 5, now);
        assert_eq!(model.expect(0), Expect::Certain(5));
        model.attempted(0, 6);
        assert_eq!(model.expect(0), Expect::OneOf(vec![5, 6]));
        model.acknowledged(0, ABSENT, now);
        assert_eq!(model.expect(0), Expect::Certain(ABSENT));
        for version in 1..10 {
            model.attempted(1, version);
        }
        assert_eq!(model.expect(1), Expect::Anything);
        assert_eq!(model.expect(7), Expect::Anything, "out of range");
    }

    #[test]
    fn clears_make_keys_absent_or_uncertain() {
        let now = Instant::now();
        let mut model = Model::new(2);
        model.acknowledged(0, 5, now);
        model.cleared();
        assert_eq!(model.expect(0), Expect::Certain(ABSENT));
        model.acknowledged(0, 6, now);
        model.clear_failed(now + Duration::from_secs(2));
        assert_eq!(model.expect(0), Expect::OneOf(vec![6, ABSENT]));
        model.acknowledged(1, 7, now + Duration::from_secs(1));
        assert_eq!(model.expect(1), Expect::OneOf(vec![ABSENT, 7]));
        model.acknowledged(1, 8, now + Duration::from_secs(3));
        assert_eq!(model.expect(1), Expect::Certain(8));
        assert_eq!(model.clears(), (1, 1));
    }
}
