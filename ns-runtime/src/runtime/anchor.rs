//! What every handle to one target shares: the target itself, interned, and the
//! pool each runtime serves it with. When the last handle is dropped, the anchor
//! is, and every pool of it is released: its threads leave the namespace.

use std::collections::HashMap;
use std::ptr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use std::cell::UnsafeCell;

use super::pool::Pool;
use super::pool::Shared;
use super::sync::{self, AtomicPtr, AtomicUsize};
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

    #[inline]
    pub(crate) fn target(&self) -> &Arc<Target> {
        &self.target
    }

    /// The pool of `runtime` for this target, made on the first call: a scan of a
    /// list of one or two entries, no lock.
    #[inline]
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

/// The pool of each runtime that called the target: a list read without a lock
/// (a call compares runtime ids along it), changed under a mutex. Nodes are never
/// unlinked while the anchor lives: a runtime that is dropped gives its node back
/// (its pool is let go), and the next runtime to call the target reuses it. So
/// the list is as long as the most runtimes that used the target at once, not
/// all the runtimes that ever did.
struct PoolList {
    head: AtomicPtr<Node>,
    changes: sync::Mutex<()>,
}

impl Default for PoolList {
    fn default() -> PoolList {
        PoolList {
            head: AtomicPtr::new(ptr::null_mut()),
            changes: sync::Mutex::new(()),
        }
    }
}

/// A node that no runtime holds: free for the next one.
const FREE: usize = 0;
/// A node whose pool is being put in or taken out (runtime ids start at 1).
const CLAIMED: usize = usize::MAX;

struct Node {
    /// The runtime whose pool this is, or `FREE` / `CLAIMED`. Published with
    /// Release after the pool is in place.
    runtime: AtomicUsize,
    /// Written only under the list's mutex while `CLAIMED`; read only by calls
    /// through the runtime whose id the node holds, which cannot run once that
    /// runtime is dropped (a call borrows it), when the node is given back.
    pool: UnsafeCell<Option<Arc<Pool>>>,
    /// Set before the node is published, never changed.
    next: *mut Node,
}

impl PoolList {
    #[inline]
    fn find(&self, runtime: usize) -> Option<&Arc<Pool>> {
        let mut at = self.head.load(Ordering::Acquire);
        while !at.is_null() {
            // SAFETY: nodes are published with Release after being written, and
            // freed only when the list is dropped, which needs `&mut self`.
            let node = unsafe { &*at };
            if node.runtime.load(Ordering::Acquire) == runtime {
                // SAFETY: the pool was put in before the id was published (Release,
                // paired with the Acquire above) and stays until this runtime is
                // dropped, which cannot happen while it makes this call.
                return unsafe { (*node.pool.get()).as_ref() };
            }
            at = node.next;
        }
        None
    }

    #[inline]
    fn get_or_insert(&self, runtime: &Arc<Shared>, target: &Arc<Target>) -> &Arc<Pool> {
        if let Some(pool) = self.find(runtime.id) {
            return pool;
        }
        self.insert(runtime, target)
    }

    /// `runtime`'s first call of the target: makes its pool.
    #[cold]
    fn insert(&self, runtime: &Arc<Shared>, target: &Arc<Target>) -> &Arc<Pool> {
        let _changes = sync::lock(&self.changes);
        // Another thread of this runtime may have put it in meanwhile.
        if let Some(pool) = self.find(runtime.id) {
            return pool;
        }
        let pool = Pool::new(target, Arc::clone(runtime));
        runtime.track(&pool);
        let node = match self.free_node() {
            Some(node) => node,
            None => {
                let node = Box::into_raw(Box::new(Node {
                    runtime: AtomicUsize::new(CLAIMED),
                    pool: UnsafeCell::new(None),
                    next: self.head.load(Ordering::Acquire),
                }));
                self.head.store(node, Ordering::Release);
                // SAFETY: just made from a Box; freed only with the list.
                unsafe { &*node }
            }
        };
        // SAFETY: the node is CLAIMED, under the mutex: no call reads its pool
        // (no runtime has its id) and nobody else writes it.
        unsafe { *node.pool.get() = Some(pool) };
        node.runtime.store(runtime.id, Ordering::Release);
        // SAFETY: as in `find`: in place until this runtime is dropped.
        unsafe { (*node.pool.get()).as_ref() }.expect("the pool was just put in")
    }

    /// A free node, claimed (under the mutex).
    fn free_node(&self) -> Option<&Node> {
        let mut at = self.head.load(Ordering::Acquire);
        while !at.is_null() {
            // SAFETY: as in `find`.
            let node = unsafe { &*at };
            if node.runtime.load(Ordering::Acquire) == FREE {
                node.runtime.store(CLAIMED, Ordering::Relaxed);
                return Some(node);
            }
            at = node.next;
        }
        None
    }

    /// `runtime` was dropped: its node lets its pool go and is free again.
    fn give_back(&self, runtime: usize) {
        let _changes = sync::lock(&self.changes);
        let mut at = self.head.load(Ordering::Acquire);
        while !at.is_null() {
            // SAFETY: as in `find`.
            let node = unsafe { &*at };
            if node.runtime.load(Ordering::Acquire) == runtime {
                node.runtime.store(CLAIMED, Ordering::Relaxed);
                // SAFETY: no call reads the pool: it would be a call through the
                // dropped runtime. Written under the mutex.
                drop(unsafe { (*node.pool.get()).take() });
                node.runtime.store(FREE, Ordering::Release);
            }
            at = node.next;
        }
    }

    fn for_each(&self, mut f: impl FnMut(&Pool)) {
        let _changes = sync::lock(&self.changes);
        let mut at = self.head.load(Ordering::Acquire);
        while !at.is_null() {
            // SAFETY: as in `find`.
            let node = unsafe { &*at };
            // SAFETY: read under the mutex, which every writer of the pool holds.
            if let Some(pool) = unsafe { &*node.pool.get() } {
                f(pool);
            }
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
// (Send + Sync) and atomics, so the list is as Send and Sync as those.
unsafe impl Send for PoolList {}
// SAFETY: as above; shared access reads nodes published with Release, and the
// pools under the rules written at `Node::pool`.
unsafe impl Sync for PoolList {}

/// `runtime` was dropped: the anchors of the targets it called give its nodes
/// back (its pools are let go), so that a program that makes runtimes and drops
/// them keeps neither their pools nor a longer list to search per call.
pub(crate) fn forget_runtime(runtime: usize, pools: &[Arc<Pool>]) {
    let anchors: Vec<Arc<Anchor>> = {
        let interned = INTERNED.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(interned) = interned.as_ref() else {
            return;
        };
        pools
            .iter()
            .filter_map(|pool| interned.get(pool.key()).and_then(Weak::upgrade))
            .collect()
    };
    for anchor in &anchors {
        anchor.pools.give_back(runtime);
    }
}

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

#[cfg(all(test, not(loom)))]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::namespace::{Namespace, Origin};
    use crate::sys::NsFile;
    use crate::NsKind;

    fn nodes(list: &PoolList) -> usize {
        let mut count = 0;
        let mut at = list.head.load(Ordering::Acquire);
        while !at.is_null() {
            count += 1;
            // SAFETY: as in `PoolList::find`.
            at = unsafe { (*at).next };
        }
        count
    }

    /// A runtime's state, with default settings.
    fn runtime() -> Arc<Shared> {
        Shared::new(
            super::super::config::Config::default(),
            super::super::thread::spawn,
        )
    }

    /// The anchor of this process's uts namespace.
    fn uts_anchor() -> Arc<Anchor> {
        let file = NsFile::open(Path::new("/proc/self/ns/uts"), Some(NsKind::Uts)).unwrap();
        let ns = Arc::new(Namespace {
            file,
            origin: Origin::Thread,
        });
        Anchor::intern(Target::new(vec![ns], None).unwrap())
    }

    /// A call of any runtime, the global one or one of the program's own,
    /// finds its pool without the list's mutex: with the mutex held
    /// elsewhere, it still finds it (where a lookup that took it would wait).
    #[test]
    fn a_runtime_finds_its_pool_without_a_lock() {
        let anchor = uts_anchor();
        let runtime = runtime();
        let pool = Arc::clone(anchor.pool(&runtime));
        let changes = sync::lock(&anchor.pools.changes);
        let (found, lookup) = std::sync::mpsc::channel();
        let finder = {
            let (anchor, runtime) = (Arc::clone(&anchor), Arc::clone(&runtime));
            std::thread::spawn(move || {
                let _ = found.send(Arc::clone(anchor.pool(&runtime)));
            })
        };
        let seen = lookup.recv_timeout(std::time::Duration::from_secs(10));
        drop(changes);
        finder.join().unwrap();
        let seen = seen.expect("the lookup waited for the list's mutex");
        assert!(Arc::ptr_eq(&seen, &pool));
        forget_runtime(runtime.id, &runtime.close());
    }

    #[test]
    fn a_dropped_runtime_lets_its_pool_go_and_the_next_reuses_its_node() {
        let anchor = uts_anchor();
        let lasting = runtime();
        let lasting_pool = Arc::clone(anchor.pool(&lasting));
        for _ in 0..100 {
            let shared = runtime();
            let pool = Arc::clone(anchor.pool(&shared));
            assert!(Arc::ptr_eq(anchor.pool(&shared), &pool), "found again");
            forget_runtime(shared.id, &shared.close());
            assert_eq!(Arc::strong_count(&pool), 1, "the anchor let the pool go");
        }
        // One node per runtime alive at once (2 here; other tests of this
        // process may use the same namespace meanwhile), not one per runtime ever.
        assert!(nodes(&anchor.pools) < 10, "{} nodes", nodes(&anchor.pools));
        assert!(Arc::ptr_eq(anchor.pool(&lasting), &lasting_pool));
        forget_runtime(lasting.id, &lasting.close());
    }
}
