//! What every handle to one target shares: the target itself, interned, and the
//! pool each runtime serves it with. When the last handle is dropped, the anchor
//! is, and every pool of it is released: its threads leave the namespace.

use std::collections::HashMap;
use std::ptr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use super::pool::Pool;
use super::sync::AtomicPtr;
use super::Shared;
use crate::target::{Target, TargetKey};

/// The interned target of one or more handles.
pub(crate) struct Anchor {
    target: Arc<Target>,
    pools: PoolList,
}

static INTERNED: Mutex<Option<HashMap<TargetKey, Weak<Anchor>>>> = Mutex::new(None);

impl Anchor {
    /// The anchor of `target`'s namespaces: the one other handles already share,
    /// or a new one. (Two handles to the same namespaces share threads and are
    /// released together.)
    pub(crate) fn intern(target: Target) -> Arc<Anchor> {
        let key = target.key();
        let mut interned = INTERNED.lock().unwrap_or_else(PoisonError::into_inner);
        let interned = interned.get_or_insert_with(HashMap::new);
        if let Some(anchor) = interned.get(&key).and_then(Weak::upgrade) {
            return anchor;
        }
        let anchor = Arc::new(Anchor {
            target: Arc::new(target),
            pools: PoolList::default(),
        });
        interned.insert(key, Arc::downgrade(&anchor));
        anchor
    }

    pub(crate) fn target(&self) -> &Arc<Target> {
        &self.target
    }

    /// The pool of `runtime` for this target, made on the first call: a scan of a
    /// list of one or two entries, no lock.
    pub(crate) fn pool(&self, runtime: &Arc<Shared>) -> &Arc<Pool> {
        self.pools.get_or_insert(runtime, &self.target)
    }
}

impl Drop for Anchor {
    fn drop(&mut self) {
        let mut interned = INTERNED.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(interned) = interned.as_mut() {
            let key = self.target.key();
            // Unless a new anchor for the same namespaces replaced this one already.
            if interned
                .get(&key)
                .is_some_and(|weak| weak.strong_count() == 0)
            {
                interned.remove(&key);
            }
        }
        drop(interned);
        self.pools.for_each(|pool| pool.release());
    }
}

/// An append-only list of (runtime id, pool), read without a lock.
struct PoolList {
    head: AtomicPtr<Node>,
}

impl Default for PoolList {
    fn default() -> PoolList {
        PoolList {
            head: AtomicPtr::new(ptr::null_mut()),
        }
    }
}

struct Node {
    runtime: usize,
    pool: Arc<Pool>,
    next: *mut Node,
}

impl PoolList {
    fn find(&self, head: *mut Node, runtime: usize) -> Option<&Arc<Pool>> {
        let mut at = head;
        while !at.is_null() {
            // SAFETY: nodes are created by `get_or_insert` from `Box`es, published
            // with Release and read after an Acquire load of `head`; they are
            // freed only in `drop`, which has `&mut self`, so they outlive `&self`.
            let node = unsafe { &*at };
            if node.runtime == runtime {
                return Some(&node.pool);
            }
            at = node.next;
        }
        None
    }

    fn get_or_insert(&self, runtime: &Arc<Shared>, target: &Arc<Target>) -> &Arc<Pool> {
        loop {
            let head = self.head.load(Ordering::Acquire);
            if let Some(pool) = self.find(head, runtime.id) {
                return pool;
            }
            let node = Box::into_raw(Box::new(Node {
                runtime: runtime.id,
                pool: Pool::new(target, Arc::clone(runtime)),
                next: head,
            }));
            match self
                .head
                .compare_exchange(head, node, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    // SAFETY: just published; alive until `drop` (see `find`).
                    let pool = unsafe { &(*node).pool };
                    runtime.track(pool);
                    return pool;
                }
                // Another thread added a node: ours was never shared, take it back
                // and look again.
                // SAFETY: `node` came from `Box::into_raw` above and nobody saw it.
                Err(_) => drop(unsafe { Box::from_raw(node) }),
            }
        }
    }

    fn for_each(&self, mut f: impl FnMut(&Pool)) {
        let mut at = self.head.load(Ordering::Acquire);
        while !at.is_null() {
            // SAFETY: as in `find`.
            let node = unsafe { &*at };
            f(&node.pool);
            at = node.next;
        }
    }
}

impl Drop for PoolList {
    fn drop(&mut self) {
        let mut at = self.head.swap(ptr::null_mut(), Ordering::Acquire);
        while !at.is_null() {
            // SAFETY: every node came from `Box::into_raw` and is freed once, here,
            // where nothing else can reach the list.
            let node = unsafe { Box::from_raw(at) };
            at = node.next;
        }
    }
}

// SAFETY: the raw pointers are owned `Box<Node>`s; a node holds an `Arc<Pool>`
// (Send + Sync) and a runtime id, so the list is as Send and Sync as those.
unsafe impl Send for PoolList {}
// SAFETY: as above; shared access only reads nodes published with Release.
unsafe impl Sync for PoolList {}

/// An `Arc<Anchor>` held as a raw pointer, as handles keep it.
///
/// Handles implement `Hash` and `Eq` by namespace identity and are meant to be map
/// keys. A visible `Arc<Anchor>` (which has atomics inside) would make every
/// `HashSet<NetNs>` of our users trip clippy's `mutable_key_type`, although the
/// hash never depends on it. Behind a pointer, the lint does not look.
pub(crate) struct AnchorRef(ptr::NonNull<Anchor>);

// SAFETY: an AnchorRef is an `Arc<Anchor>` in another form, and `Arc<Anchor>` is
// Send and Sync because `Anchor` is.
unsafe impl Send for AnchorRef where Arc<Anchor>: Send {}
// SAFETY: as above.
unsafe impl Sync for AnchorRef where Arc<Anchor>: Sync {}

impl AnchorRef {
    pub(crate) fn new(anchor: Arc<Anchor>) -> AnchorRef {
        let raw = Arc::into_raw(anchor).cast_mut();
        // SAFETY: `Arc::into_raw` returns a pointer to the live allocation, never null.
        AnchorRef(unsafe { ptr::NonNull::new_unchecked(raw) })
    }
}

impl std::ops::Deref for AnchorRef {
    type Target = Anchor;

    fn deref(&self) -> &Anchor {
        // SAFETY: the pointer came from `Arc::into_raw`, and the strong count it stands
        // for is given back only in `drop`, so the anchor is alive while `self` is.
        unsafe { self.0.as_ref() }
    }
}

impl Drop for AnchorRef {
    fn drop(&mut self) {
        // SAFETY: the pointer came from `Arc::into_raw` and is turned back into an Arc
        // exactly once, here.
        drop(unsafe { Arc::from_raw(self.0.as_ptr()) });
    }
}
