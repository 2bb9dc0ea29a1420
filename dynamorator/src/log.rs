//! Logging that a store's `silent` setting turns off completely.

/// `tracing::warn!` unless the first argument (the store's `silent` flag) is true.
macro_rules! warn_unless_silent {
    ($silent:expr, $($arg:tt)+) => {
        if !$silent {
            ::tracing::warn!($($arg)+);
        }
    };
}

/// `tracing::info!` unless the first argument (the store's `silent` flag) is true.
macro_rules! info_unless_silent {
    ($silent:expr, $($arg:tt)+) => {
        if !$silent {
            ::tracing::info!($($arg)+);
        }
    };
}

pub(crate) use {info_unless_silent, warn_unless_silent};
