//! Read-through's policy, in one place: what a call does with a key, decided from what is known
//! of it. Pure: no I/O, no clock, no locks. The single-key and the batch paths both ask it,
//! then carry out its answer.

use crate::codec::Freshness;

/// What read-through knows of a key when it decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeyState {
    /// Where the value held for the key (L1 or store) is on its timeline now; `None` when
    /// nothing usable is held (absent, written before the cache was cleared, undecodable, or
    /// expired past the fail-safe maximum).
    pub(crate) held: Option<Freshness>,
    /// A load of the key is running in this process: a background refresh, or a load that
    /// went on past a soft timeout.
    pub(crate) loading: bool,
    /// Loads of the key are paused after a failure (the fail-safe throttle).
    pub(crate) paused: bool,
    /// Another process holds the key's lease: it is loading it. Known only once asked.
    pub(crate) leased_elsewhere: bool,
}

impl KeyState {
    /// A key with this value held and nothing else known.
    pub(crate) fn held(held: Option<Freshness>) -> Self {
        KeyState {
            held,
            loading: false,
            paused: false,
            leased_elsewhere: false,
        }
    }
}

/// What to do with a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Answer with the held value.
    Serve,
    /// Answer with the held (stale) value and refresh it in the background.
    ServeAndRefresh,
    /// Answer with the held, expired value (fail-safe): a load is under way elsewhere or
    /// failed a moment ago.
    FallBack,
    /// Load it while the caller waits; an expired held value stays the fallback if the load
    /// fails.
    Load,
    /// Nothing to answer with and another process is loading it: wait for its value.
    Wait,
}

/// The one rule of read-through.
pub(crate) fn decide(state: KeyState) -> Action {
    let busy = state.loading || state.paused;
    match state.held {
        Some(Freshness::Fresh) => Action::Serve,
        // A refresh running, or paused after failing: the stale value answers meanwhile.
        Some(Freshness::Stale) if busy || state.leased_elsewhere => Action::Serve,
        Some(Freshness::Stale) => Action::ServeAndRefresh,
        Some(Freshness::Expired) if busy || state.leased_elsewhere => Action::FallBack,
        Some(Freshness::Expired) => Action::Load,
        None if state.leased_elsewhere => Action::Wait,
        None => Action::Load,
    }
}

/// How a caller waits for the load it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Waiting {
    /// Until the load ends (or its hard timeout).
    ToTheEnd,
    /// Up to the soft timeout: past it the fallback answers and the load goes on in the
    /// background, storing what it loads.
    UpToSoftTimeout,
}

/// A caller with a fallback for every key it loads waits up to the soft timeout, if one is
/// set; any other waits for the load.
pub(crate) fn waiting(every_key_has_a_fallback: bool, soft_timeout_set: bool) -> Waiting {
    if every_key_has_a_fallback && soft_timeout_set {
        Waiting::UpToSoftTimeout
    } else {
        Waiting::ToTheEnd
    }
}

/// What a failed (or timed out) load leaves the caller with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AfterFailure {
    /// Answer with the fallback and pause the key's loads.
    FallBack,
    /// Return the loader's error.
    Fail,
}

/// A load that failed answers with the fallback when every key it loaded has one.
pub(crate) fn after_failure(every_key_has_a_fallback: bool) -> AfterFailure {
    if every_key_has_a_fallback {
        AfterFailure::FallBack
    } else {
        AfterFailure::Fail
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Freshness::{Expired, Fresh, Stale};

    /// Every combination that can arise, with what read-through does.
    #[test]
    fn the_rule_as_a_table() {
        // (held, loading, paused, leased elsewhere) → action
        let cases = [
            (Some(Fresh), false, false, false, Action::Serve),
            (Some(Fresh), true, true, true, Action::Serve),
            (Some(Stale), false, false, false, Action::ServeAndRefresh),
            (Some(Stale), true, false, false, Action::Serve),
            (Some(Stale), false, true, false, Action::Serve),
            (Some(Stale), false, false, true, Action::Serve),
            (Some(Expired), false, false, false, Action::Load),
            (Some(Expired), true, false, false, Action::FallBack),
            (Some(Expired), false, true, false, Action::FallBack),
            (Some(Expired), false, false, true, Action::FallBack),
            (None, false, false, false, Action::Load),
            // A paused or loading key without a fallback still loads: the caller has nothing
            // else to answer with.
            (None, true, false, false, Action::Load),
            (None, false, true, false, Action::Load),
            (None, false, false, true, Action::Wait),
        ];
        for (held, loading, paused, leased_elsewhere, expected) in cases {
            let state = KeyState {
                held,
                loading,
                paused,
                leased_elsewhere,
            };
            assert_eq!(decide(state), expected, "{state:?}");
        }
    }

    #[test]
    fn only_a_caller_covered_by_fallbacks_stops_at_the_soft_timeout() {
        assert_eq!(waiting(true, true), Waiting::UpToSoftTimeout);
        assert_eq!(waiting(true, false), Waiting::ToTheEnd);
        assert_eq!(waiting(false, true), Waiting::ToTheEnd);
        assert_eq!(waiting(false, false), Waiting::ToTheEnd);
    }

    #[test]
    fn a_failed_load_falls_back_only_when_covered() {
        assert_eq!(after_failure(true), AfterFailure::FallBack);
        assert_eq!(after_failure(false), AfterFailure::Fail);
    }
}
