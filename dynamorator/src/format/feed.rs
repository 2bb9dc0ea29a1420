//! The items of a cache's change feed (coherent L1s across processes): which keys were written
//! in one second, kept in the same table as the values. A feed item holds no value: no `data`
//! (so the Python package 0.1.7 reads it as a miss and its `batch_get` skips it), no `zstd`, no
//! split head, so listings and scans of values never meet it. It carries a `ttl`, so DynamoDB
//! removes it.

/// One append to a feed item: these distinct entries, unless the item already counts so many
/// that they would take it past `cap`; then only how many did not fit is recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FeedAppend {
    pub(crate) key: String,
    /// Distinct, not empty (DynamoDB's string sets are neither).
    pub(crate) entries: Vec<String>,
    pub(crate) cap: u64,
    /// The item's `ttl`, epoch seconds.
    pub(crate) expires_at: i64,
}

/// What an append did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Appended {
    /// The entries are in the item.
    Entries,
    /// The item was full: its overflow count grew instead, which tells readers that entries
    /// are missing from it.
    Overflowed,
}

/// A feed item as read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FeedItem {
    pub(crate) key: String,
    /// The entries appended, each once.
    pub(crate) entries: Vec<String>,
    /// Entries appended (a repeated one counts each time): what `cap` is compared with.
    pub(crate) count: u64,
    /// Entries that did not fit.
    pub(crate) overflow: u64,
}

impl FeedItem {
    /// Applies `append` as every backend must: all or nothing against the cap.
    pub(crate) fn apply(&mut self, append: &FeedAppend) -> Appended {
        let added = append.entries.len() as u64;
        if self.count.saturating_add(added) > append.cap {
            self.overflow = self.overflow.saturating_add(added);
            return Appended::Overflowed;
        }
        self.count += added;
        for entry in &append.entries {
            if !self.entries.contains(entry) {
                self.entries.push(entry.clone());
            }
        }
        Appended::Entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn append(entries: &[&str], cap: u64) -> FeedAppend {
        FeedAppend {
            key: "f".into(),
            entries: entries.iter().map(|e| (*e).to_owned()).collect(),
            cap,
            expires_at: 0,
        }
    }

    #[test]
    fn entries_go_in_until_the_cap_then_only_the_overflow_grows() {
        let mut item = FeedItem::default();
        assert_eq!(item.apply(&append(&["a", "b"], 3)), Appended::Entries);
        assert_eq!(item.apply(&append(&["a"], 3)), Appended::Entries);
        assert_eq!((item.entries.len(), item.count), (2, 3));
        assert_eq!(item.apply(&append(&["c"], 3)), Appended::Overflowed);
        assert_eq!((item.entries.len(), item.count, item.overflow), (2, 3, 1));
    }
}
