//! An owning reference to a pool that handles can carry.

use std::ptr::NonNull;
use std::sync::Arc;

use super::pool::Pool;

/// An `Arc<Pool>` held as a raw pointer.
///
/// `NetNs` implements `Hash` and `Eq` by namespace identity and is meant to be a map
/// key. A visible `Arc<Pool>` (which has locks inside) would make every
/// `HashSet<NetNs>` of our users trip clippy's `mutable_key_type`, although the hash
/// never depends on the pool. Behind a pointer, the lint does not look.
pub(crate) struct PoolRef(NonNull<Pool>);

// SAFETY: a PoolRef is an `Arc<Pool>` in another form, and `Arc<Pool>` is Send and
// Sync because `Pool` is.
unsafe impl Send for PoolRef where Arc<Pool>: Send {}
// SAFETY: as above.
unsafe impl Sync for PoolRef where Arc<Pool>: Sync {}

impl PoolRef {
    pub(crate) fn new(pool: Arc<Pool>) -> PoolRef {
        let raw = Arc::into_raw(pool).cast_mut();
        // SAFETY: `Arc::into_raw` returns a pointer to the live allocation, never null.
        PoolRef(unsafe { NonNull::new_unchecked(raw) })
    }
}

impl std::ops::Deref for PoolRef {
    type Target = Pool;

    fn deref(&self) -> &Pool {
        // SAFETY: the pointer came from `Arc::into_raw`, and the strong count it stands
        // for is given back only in `drop`, so the pool is alive while `self` is.
        unsafe { self.0.as_ref() }
    }
}

impl Drop for PoolRef {
    fn drop(&mut self) {
        // SAFETY: the pointer came from `Arc::into_raw` and is turned back into an Arc
        // exactly once, here.
        drop(unsafe { Arc::from_raw(self.0.as_ptr()) });
    }
}
