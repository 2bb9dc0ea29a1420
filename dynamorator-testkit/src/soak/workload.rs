//! The soak's workload: its value type, its key space, and what one task does.
//!
//! The keys are `k0` … `k{n-1}`, in two halves that never meet:
//!
//! - even keys are **written**: `put` and `delete`, each key by one task only (the key's
//!   rank modulo the tasks), so its writes never overlap and the [`Model`] knows what it
//!   must hold;
//! - odd keys are **loaded**: read-through, single and batch, whose loader returns the key's
//!   own value (version [`LOADED`]); background refreshes write them at any time, so they are
//!   not in the model.
//!
//! `get` and `get_many` read keys of both halves. Within a half, a key's popularity is
//! zipfian by its rank (`k0` and `k1` the most popular). Every answer is checked to be its
//! key's value.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use dynamorator::Cache;
use serde::{Deserialize, Serialize};

use super::model::{ABSENT, Model};
use super::tally::{Op, Tally};
use super::zipf::Zipf;

/// The version of a value a loader made (puts number theirs from 1).
pub const LOADED: u64 = u64::MAX;

/// The value the soak stores: whose it is, which write made it, and a body of 16 to 400
/// bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The key's number.
    pub key: u64,
    /// The put that wrote it (from 1), or [`LOADED`].
    pub version: u64,
    /// Filler.
    pub body: String,
}

/// Filler for the records' bodies.
const FILLER: &str = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod \
tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud \
exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure dolor in \
reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur. Excepteur sint \
occaecat cupidatat non proident, sunt in culpa qui officia deserunt mollit anim id est laborum.";

impl Record {
    /// Key `key`'s value, version `version`, with a body of random length.
    pub fn new(key: usize, version: u64, rng: &mut fastrand::Rng) -> Record {
        let length = rng.usize(16..=FILLER.len().min(400));
        Record {
            key: key as u64,
            version,
            body: FILLER[..length].to_owned(),
        }
    }
}

/// The name of key number `key`.
pub fn key_name(key: usize) -> String {
    format!("k{key}")
}

/// The number of a key named by [`key_name`].
pub fn key_number(name: &str) -> Option<usize> {
    name.strip_prefix('k')?.parse().ok()
}

/// The key space: which keys each kind of operation draws.
#[derive(Debug)]
pub struct Keys {
    tasks: usize,
    /// Ranks of either half.
    half: Zipf,
    /// Ranks of one task's written keys.
    own: Zipf,
}

impl Keys {
    /// `keys` keys (at least 2), written by `tasks` tasks.
    pub fn new(keys: usize, tasks: usize) -> Keys {
        let tasks = tasks.max(1);
        let written = keys.max(2) / 2;
        Keys {
            tasks,
            half: Zipf::new(written, Zipf::YCSB),
            own: Zipf::new(written.div_ceil(tasks), Zipf::YCSB),
        }
    }

    /// How many written keys there are: the model's slots (slot `r` is key `2r`).
    pub fn written(&self) -> usize {
        self.half.len()
    }

    /// Any key.
    pub fn any(&self, rng: &mut fastrand::Rng) -> usize {
        2 * self.half.sample(rng) + usize::from(rng.bool())
    }

    /// A loaded key.
    pub fn loaded(&self, rng: &mut fastrand::Rng) -> usize {
        2 * self.half.sample(rng) + 1
    }

    /// `count` distinct loaded keys (fewer if the draws keep repeating).
    pub fn loaded_batch(&self, count: usize, rng: &mut fastrand::Rng) -> Vec<usize> {
        let mut keys = HashSet::with_capacity(count);
        for _ in 0..count * 10 {
            if keys.len() == count {
                break;
            }
            keys.insert(self.loaded(rng));
        }
        keys.into_iter().collect()
    }

    /// A key `task` writes, and its slot in the model.
    pub fn written_by(&self, task: usize, rng: &mut fastrand::Rng) -> (usize, usize) {
        let mut rank = self.own.sample(rng) * self.tasks + task % self.tasks;
        // The last round of ranks may be short: the task's previous rank is its own too.
        while rank >= self.written() && rank >= self.tasks {
            rank -= self.tasks;
        }
        let slot = rank.min(self.written() - 1);
        (2 * slot, slot)
    }
}

/// The operations' shares, in percent of the calls each task makes (a fleet clear is not
/// drawn: task 0 makes one every clear interval).
pub const MIX: [(Op, u32); 6] = [
    (Op::Get, 25),
    (Op::GetMany, 10),
    (Op::ReadThrough, 25),
    (Op::BatchReadThrough, 10),
    (Op::Put, 22),
    (Op::Delete, 8),
];

/// How the workload runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Keys per batch call (`get_many`, batch read-through).
    pub batch: usize,
    /// The share of loader calls that fail on purpose.
    pub loader_failure_rate: f64,
    /// How often task 0 clears the cache for the fleet.
    pub clear_every: Duration,
    /// The cache's generation poll: how long after a failed clear a write may still carry the
    /// generation it left behind.
    pub generation_poll: Duration,
    /// The longest an operation may take before it counts as stuck.
    pub deadline: Duration,
    /// The seed of the tasks' random draws.
    pub seed: u64,
}

/// The state the tasks share.
pub struct Workload {
    /// The cache under test, through the fault proxy.
    pub cache: Cache<Record>,
    /// The key space.
    pub keys: Keys,
    /// What every written key may hold.
    pub model: Mutex<Model>,
    /// Counts of what was done.
    pub tally: Tally,
    settings: Settings,
    /// Writes hold it shared and a clear holds it alone, so no write overlaps a clear.
    gate: tokio::sync::RwLock<()>,
    next_version: AtomicU64,
}

/// The most calls one task makes, however long the run: a bound on its loop besides time.
const MAX_CALLS: u64 = 1 << 40;

impl Workload {
    /// A workload on `cache` over `keys` keys written by `tasks` tasks.
    pub fn new(cache: Cache<Record>, keys: usize, tasks: usize, settings: Settings) -> Workload {
        let keys = Keys::new(keys, tasks);
        Workload {
            model: Mutex::new(Model::new(keys.written())),
            cache,
            keys,
            tally: Tally::default(),
            settings,
            gate: tokio::sync::RwLock::new(()),
            next_version: AtomicU64::new(1),
        }
    }

    /// What task `task` does until `end`: one call after another, each within its deadline;
    /// task 0 also clears the cache every clear interval.
    pub async fn task(&self, task: usize, end: Instant) {
        let mut rng = fastrand::Rng::with_seed(self.settings.seed ^ (task as u64 + 1));
        let mut next_clear = Instant::now() + self.settings.clear_every;
        let total: u32 = MIX.iter().map(|(_, share)| share).sum();
        let mut calls = 0_u64;
        while Instant::now() < end && calls < MAX_CALLS {
            calls += 1;
            let op = if task == 0 && Instant::now() >= next_clear {
                next_clear += self.settings.clear_every;
                Op::Clear
            } else {
                let mut draw = rng.u32(..total);
                MIX.iter()
                    .find(|(_, share)| {
                        let here = draw < *share;
                        draw = draw.saturating_sub(*share);
                        here
                    })
                    .map_or(Op::Get, |(op, _)| *op)
            };
            self.tally.op(op);
            let call = self.call(op, task, &mut rng);
            let began = Instant::now();
            if tokio::time::timeout(self.settings.deadline, call)
                .await
                .is_err()
            {
                self.tally.stuck(op);
            }
            self.tally.took(op, began.elapsed());
            // L1 hits do not yield to the runtime: let the sampler in now and then.
            if calls.is_multiple_of(64) {
                tokio::task::yield_now().await;
            }
        }
    }

    async fn call(&self, op: Op, task: usize, rng: &mut fastrand::Rng) {
        match op {
            Op::Get => self.get(rng).await,
            Op::GetMany => self.get_many(rng).await,
            Op::ReadThrough => self.read_through(rng).await,
            Op::BatchReadThrough => self.batch_read_through(rng).await,
            Op::Put => self.put(task, rng).await,
            Op::Delete => self.delete(task, rng).await,
            Op::Clear => self.clear().await,
        }
    }

    /// Checks that `record`, read under `key`, is that key's.
    fn check(&self, op: Op, key: usize, record: &Record) {
        let loaded_key = key % 2 == 1;
        let right = record.key == key as u64 && ((record.version == LOADED) == loaded_key);
        if !right {
            self.tally.wrong(format!(
                "{}: k{key} answered key {} version {}",
                op.name(),
                record.key,
                record.version
            ));
        }
    }

    fn model(&self) -> std::sync::MutexGuard<'_, Model> {
        self.model.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn get(&self, rng: &mut fastrand::Rng) {
        let key = self.keys.any(rng);
        match self.cache.get_arc(&key_name(key)).await {
            Ok(Some(record)) => self.check(Op::Get, key, &record),
            Ok(None) => {}
            Err(error) => self.tally.error(Op::Get, &error),
        }
    }

    async fn get_many(&self, rng: &mut fastrand::Rng) {
        let names: Vec<String> = (0..self.settings.batch)
            .map(|_| key_name(self.keys.any(rng)))
            .collect();
        match self.cache.get_many_arc(&names).await {
            Ok(read) => {
                for (name, record) in &read.found {
                    self.check_named(Op::GetMany, name, record);
                }
                for failure in &read.failed {
                    self.tally.error(Op::GetMany, &failure.error);
                }
            }
            Err(error) => self.tally.error(Op::GetMany, &error),
        }
    }

    fn check_named(&self, op: Op, name: &str, record: &Record) {
        match key_number(name) {
            Some(key) => self.check(op, key, record),
            None => self
                .tally
                .wrong(format!("{}: answered a key never asked, {name}", op.name())),
        }
    }

    async fn read_through(&self, rng: &mut fastrand::Rng) {
        let key = self.keys.loaded(rng);
        let fails = rng.f64() < self.settings.loader_failure_rate;
        let value = Record::new(key, LOADED, rng);
        let loader = move || async move {
            if fails {
                Err(std::io::Error::other("injected loader failure"))
            } else {
                Ok(value)
            }
        };
        match self
            .cache
            .get_arc_or_insert_with(&key_name(key), loader)
            .await
        {
            Ok(record) => self.check(Op::ReadThrough, key, &record),
            Err(error) => self.tally.error(Op::ReadThrough, &error),
        }
    }

    async fn batch_read_through(&self, rng: &mut fastrand::Rng) {
        let keys = self.keys.loaded_batch(self.settings.batch, rng);
        let fails = rng.f64() < self.settings.loader_failure_rate;
        let seed = rng.u64(..);
        let loader = move |names: Vec<String>| async move {
            if fails {
                return Err(std::io::Error::other("injected loader failure"));
            }
            let mut rng = fastrand::Rng::with_seed(seed);
            let values: HashMap<String, Record> = names
                .into_iter()
                .filter_map(|name| {
                    let value = Record::new(key_number(&name)?, LOADED, &mut rng);
                    Some((name, value))
                })
                .collect();
            Ok(values)
        };
        let names: Vec<String> = keys.iter().map(|key| key_name(*key)).collect();
        match self.cache.get_many_or_insert_with(&names, loader).await {
            Ok(values) => {
                for (name, record) in &values {
                    self.check_named(Op::BatchReadThrough, name, record);
                }
            }
            Err(error) => self.tally.error(Op::BatchReadThrough, &error),
        }
    }

    async fn put(&self, task: usize, rng: &mut fastrand::Rng) {
        let (key, slot) = self.keys.written_by(task, rng);
        let version = self.next_version.fetch_add(1, Ordering::Relaxed);
        let record = Record::new(key, version, rng);
        let _writing = self.gate.read().await;
        // Possible from now on: if the call is dropped at its deadline, it may have landed.
        self.model().attempted(slot, version);
        let started = Instant::now();
        match self.cache.put(&key_name(key), &record).await {
            Ok(()) => self.model().acknowledged(slot, version, started),
            Err(error) => self.tally.error(Op::Put, &error),
        }
    }

    async fn delete(&self, task: usize, rng: &mut fastrand::Rng) {
        let (key, slot) = self.keys.written_by(task, rng);
        let _writing = self.gate.read().await;
        self.model().attempted(slot, ABSENT);
        let started = Instant::now();
        match self.cache.delete(&key_name(key)).await {
            Ok(()) => self.model().acknowledged(slot, ABSENT, started),
            Err(error) => self.tally.error(Op::Delete, &error),
        }
    }

    /// A fleet clear, with no write in flight; tried a few times, as a caller would.
    async fn clear(&self) {
        let _alone = self.gate.write().await;
        // Possible from now on, in case the call is dropped at its deadline: the writes that
        // follow may carry the old generation until the next poll.
        let uncertain = self.settings.deadline + self.settings.generation_poll * 3;
        self.model().clear_started(Instant::now() + uncertain);
        for attempt in 0..5 {
            if attempt > 0 {
                self.tally.op(Op::Clear);
            }
            match self.cache.clear().await {
                Ok(_) => {
                    self.model().cleared();
                    return;
                }
                Err(error) => self.tally.error(Op::Clear, &error),
            }
        }
        let until = Instant::now() + self.settings.generation_poll * 3;
        self.model().clear_failed(until);
    }
}

/// What a read of `slot`'s key found, as the model counts it.
pub fn outcome(found: Option<&Record>) -> u64 {
    found.map_or(ABSENT, |record| record.version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_task_writes_its_own_even_keys() {
        let keys = Keys::new(1_000, 4);
        let mut rng = fastrand::Rng::with_seed(1);
        for task in 0..4 {
            for _ in 0..1_000 {
                let (key, slot) = keys.written_by(task, &mut rng);
                assert_eq!(key, 2 * slot);
                assert!(slot < keys.written());
                assert_eq!(slot % 4, task, "slot {slot} is task {task}'s");
            }
        }
        for _ in 0..1_000 {
            assert_eq!(keys.loaded(&mut rng) % 2, 1);
            assert!(keys.any(&mut rng) < 1_000);
        }
        let batch = keys.loaded_batch(20, &mut rng);
        assert_eq!(batch.len(), 20);
        assert_eq!(key_number(&key_name(42)), Some(42));
    }
}
