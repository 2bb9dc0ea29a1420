//! The L1 layer without the `l1` feature: a type that cannot be made, so a cache's L1 is
//! always off and none of this code runs.

use std::convert::Infallible;
use std::marker::PhantomData;
use std::sync::Arc;

use super::Held;
use crate::cache::engine::Coalescer;
use crate::codec::Horizons;
use crate::{Clock, L1Config};

pub(crate) struct Layer<T> {
    never: Infallible,
    _values: PhantomData<fn() -> T>,
}

impl<T> Layer<T> {
    pub(crate) fn new(_: &L1Config, _: &Clock) -> Option<Self> {
        None
    }

    pub(crate) fn get(&self, _: &str) -> Option<Option<Held<T>>> {
        match self.never {}
    }

    pub(crate) fn reads(&self) -> &Coalescer<Option<Held<T>>> {
        match self.never {}
    }

    pub(crate) fn insert(&self, _: String, _: Arc<T>, _: Horizons) {
        match self.never {}
    }

    pub(crate) fn remembers_misses(&self) -> bool {
        match self.never {}
    }

    pub(crate) fn insert_absent(&self, _: String) {
        match self.never {}
    }

    pub(crate) fn invalidate(&self, _: &str) {
        match self.never {}
    }

    pub(crate) fn invalidate_all(&self) {
        match self.never {}
    }

    pub(crate) fn keys(&self) -> Vec<String> {
        match self.never {}
    }

    pub(crate) fn size(&self) -> (u64, u64) {
        match self.never {}
    }
}
