//! This module exists because `lazy_static` causes TSAN to
//! be very unhappy. We rely heavily on TSAN for finding
//! races, so we don't use `lazy_static`.
//!
//! Interlog's patch: the value lives in a `std::sync::OnceLock`, so threads
//! that find it being initialized block instead of spinning. Upstream's
//! spin lock made the threadpool's own workers (spawned during the pool's
//! initialization) spin on it, which on a 2-core machine took CPU from the
//! initializing thread for milliseconds on every process's first open.

use std::sync::OnceLock;

/// A lazily initialized value
pub struct Lazy<T, F> {
    cell: OnceLock<T>,
    init: F,
}

impl<T, F> Lazy<T, F> {
    /// Create a new Lazy
    pub const fn new(init: F) -> Self
    where
        F: Sized,
    {
        Self { cell: OnceLock::new(), init }
    }
}

impl<T, F> std::ops::Deref for Lazy<T, F>
where
    F: Fn() -> T,
{
    type Target = T;

    fn deref(&self) -> &T {
        self.cell.get_or_init(|| (self.init)())
    }
}
