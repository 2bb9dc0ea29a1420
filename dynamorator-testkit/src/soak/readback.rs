//! The end of a soak: every key read back through a fresh store straight to the server (no
//! proxy, no faults) and a cache of the same name without an L1, and compared with the
//! [`Model`]. Written keys must hold what the model expects (exactly, when certain); loaded
//! keys may hold only their own loader's value.

use std::collections::HashMap;

use dynamorator::{Cache, Error};
use serde::Serialize;

use super::model::{Expect, Model};
use super::workload::{Keys, LOADED, Record, key_name, key_number, outcome};

/// Keys per batch read.
const CHUNK: usize = 100;
/// Rounds of reading again the keys a batch read could not read.
const ROUNDS: usize = 5;
/// How many mismatches are described in the report.
const EXAMPLES: usize = 10;

/// What the read-back found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReadBack {
    /// Written keys read.
    pub written: u64,
    /// Of them, certain: their last write (or clear) was acknowledged.
    pub certain: u64,
    /// Certain keys whose last acknowledged write is a put: values that must be read back.
    pub certain_values: u64,
    /// Certain keys that must be absent (deleted, cleared, or never written).
    pub certain_absent: u64,
    /// Written keys with more than one possibility (a failed write since the last
    /// acknowledged one), checked against them.
    pub uncertain: u64,
    /// Written keys with too many failed writes to check.
    pub unchecked: u64,
    /// Loaded keys read.
    pub loaded: u64,
    /// Loaded keys holding their loader's value.
    pub loaded_found: u64,
    /// Keys holding something they may not hold.
    pub mismatches: u64,
    /// Keys that could not be read after every round.
    pub unread: u64,
    /// The first mismatches and read failures, described.
    pub examples: Vec<String>,
}

impl ReadBack {
    /// Whether every key held what it may hold, and every key was read.
    pub fn passed(&self) -> bool {
        self.mismatches == 0 && self.unread == 0
    }

    fn example(&mut self, what: String) {
        if self.examples.len() < EXAMPLES {
            self.examples.push(what);
        }
    }
}

/// Reads every key of `keys` through `reader` and compares it with `model`.
pub async fn read_back(reader: &Cache<Record>, keys: &Keys, model: &Model) -> ReadBack {
    let mut result = ReadBack::default();
    let all: Vec<usize> = (0..2 * keys.written()).collect();
    for chunk in all.chunks(CHUNK) {
        let (found, unread) = read_chunk(reader, chunk).await;
        for (key, error) in unread {
            result.unread += 1;
            result.example(format!("k{key} could not be read: {error}"));
        }
        for &key in chunk {
            // A key that could not be read is counted as such, not checked.
            let Some(record) = found.get(&key) else {
                continue;
            };
            if key % 2 == 1 {
                check_loaded(&mut result, key, record.as_ref());
            } else {
                check_written(&mut result, key, record.as_ref(), model);
            }
        }
    }
    result
}

/// One chunk, read again (bounded rounds) until every key is read: what each key holds, and
/// the keys that could not be read with their last error.
async fn read_chunk(
    reader: &Cache<Record>,
    chunk: &[usize],
) -> (HashMap<usize, Option<Record>>, Vec<(usize, String)>) {
    let mut found = HashMap::with_capacity(chunk.len());
    let mut pending: Vec<usize> = chunk.to_vec();
    let mut last_errors: HashMap<usize, String> = HashMap::new();
    for _ in 0..ROUNDS {
        if pending.is_empty() {
            break;
        }
        let names: Vec<String> = pending.iter().map(|key| key_name(*key)).collect();
        match reader.get_many(&names).await {
            Ok(mut read) => {
                let mut failed = Vec::new();
                for failure in &read.failed {
                    for name in &failure.keys {
                        if let Some(key) = key_number(name) {
                            last_errors.insert(key, failure.error.to_string());
                            failed.push(key);
                        }
                    }
                }
                for key in pending.drain(..) {
                    if !failed.contains(&key) {
                        found.insert(key, read.found.remove(&key_name(key)));
                    }
                }
                pending = failed;
            }
            Err(error) => {
                for key in &pending {
                    last_errors.insert(*key, error_text(&error));
                }
            }
        }
    }
    let unread = pending
        .into_iter()
        .map(|key| {
            let error = last_errors.remove(&key).unwrap_or_default();
            (key, error)
        })
        .collect();
    (found, unread)
}

fn error_text(error: &Error) -> String {
    error.to_string()
}

fn check_loaded(result: &mut ReadBack, key: usize, record: Option<&Record>) {
    result.loaded += 1;
    let Some(record) = record else {
        return;
    };
    if record.key == key as u64 && record.version == LOADED {
        result.loaded_found += 1;
    } else {
        result.mismatches += 1;
        result.example(format!(
            "loaded key k{key} holds key {} version {}",
            record.key, record.version
        ));
    }
}

fn check_written(result: &mut ReadBack, key: usize, record: Option<&Record>, model: &Model) {
    result.written += 1;
    let expect = model.expect(key / 2);
    match &expect {
        Expect::Certain(0) => {
            result.certain += 1;
            result.certain_absent += 1;
        }
        Expect::Certain(_) => {
            result.certain += 1;
            result.certain_values += 1;
        }
        Expect::OneOf(_) => result.uncertain += 1,
        Expect::Anything => result.unchecked += 1,
    }
    let found = outcome(record);
    let right = expect.allows(found) && record.is_none_or(|record| record.key == key as u64);
    if !right {
        result.mismatches += 1;
        result.example(format!(
            "written key k{key} holds {}, expected {expect:?} (0: absent)",
            match record {
                Some(record) => format!("key {} version {}", record.key, record.version),
                None => "nothing".to_owned(),
            }
        ));
    }
}
