//! The runtime: which namespace threads exist, and how calls reach them.

#[cfg(all(feature = "tokio", not(loom)))]
pub(crate) mod driver;
mod job;
mod latch;
#[cfg(all(test, loom))]
mod loom_tests;
mod pool;
mod pool_ref;
mod sync;
mod worker;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};
use std::time::Duration;

pub(crate) use pool::Pool;
pub(crate) use pool_ref::PoolRef;
pub(crate) use worker::{register, AuditGuard};

use crate::error::Result;
use crate::handle::Namespaces;
use crate::target::{Target, TargetId};

/// Settings of a [`Runtime`].
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) max_threads: usize,
    pub(crate) keep_alive: Duration,
    pub(crate) spin: Duration,
    pub(crate) max_idle_spin: Duration,
    pub(crate) stack_size: Option<usize>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_threads: 8,
            keep_alive: Duration::from_secs(10),
            spin: Duration::from_micros(50),
            max_idle_spin: Duration::from_micros(500),
            stack_size: None,
        }
    }
}

/// A set of namespace threads: per namespace, a small pool of OS threads that
/// entered it once, at birth, and never leave it. Dropping the last clone of a
/// runtime lets its idle threads exit at once.
///
/// Most programs use the process-wide [`Runtime::global`] through [`NetNs::run`](crate::NetNs::run) and
/// the [`in_netns`](crate::in_netns) attribute. A separate runtime has its own
/// threads and settings:
///
/// ```no_run
/// use std::time::Duration;
/// use ns_runtime::{NetNs, Runtime};
///
/// # fn main() -> Result<(), ns_runtime::Error> {
/// let rt = Runtime::builder()
///     .max_threads_per_ns(2)
///     .keep_alive(Duration::from_millis(500))
///     .build();
/// let ns = NetNs::create()?;
/// let inside = rt.run(&ns, || NetNs::current().map(|n| n.inode()))??;
/// assert_eq!(inside, ns.inode());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<RuntimeInner>,
    /// Shared by the clones of this runtime; when the last one is dropped, the
    /// runtime's idle threads exit at once (busy ones after their job).
    _owner: Arc<Owner>,
}

struct Owner(Arc<RuntimeInner>);

impl Drop for Owner {
    fn drop(&mut self) {
        let pools: Vec<Arc<Pool>> = self
            .0
            .pools
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .filter_map(Weak::upgrade)
            .collect();
        for pool in pools {
            pool.close();
        }
    }
}

pub(crate) struct RuntimeInner {
    pub(crate) config: Config,
    /// Pools by namespace identity. Weak: a pool lives while a handle caches it or a
    /// worker runs in it, and removes itself from here when dropped.
    pools: Mutex<HashMap<TargetId, Weak<Pool>>>,
    global: bool,
}

static GLOBAL: OnceLock<Runtime> = OnceLock::new();

impl Runtime {
    /// A builder for a runtime with other settings than the defaults.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// The process-wide runtime that [`NetNs::run`](crate::NetNs::run) and the attribute use. It is
    /// created with default settings on first use unless [`Builder::build_global`]
    /// configured it before.
    pub fn global() -> &'static Runtime {
        GLOBAL.get_or_init(|| Runtime::with_config(Config::default(), true))
    }

    pub(crate) fn inner(&self) -> &Arc<RuntimeInner> {
        &self.inner
    }

    fn with_config(config: Config, global: bool) -> Runtime {
        let inner = Arc::new(RuntimeInner {
            config,
            pools: Mutex::new(HashMap::new()),
            global,
        });
        Runtime {
            _owner: Arc::new(Owner(Arc::clone(&inner))),
            inner,
        }
    }

    /// Runs `f` on a namespace thread of `ns` (a [`NetNs`](crate::NetNs), an [`Ns`](crate::Ns)
    /// or an [`NsSet`](crate::NsSet)) that belongs to this runtime; see
    /// [`NetNs::run`](crate::NetNs::run) for the guarantees.
    ///
    /// # Errors
    /// [`Error::NotJoinable`](crate::Error::NotJoinable) for a user, pid or time
    /// namespace; otherwise only when no thread could enter.
    pub fn run<N, F, R>(&self, ns: &N, f: F) -> Result<R>
    where
        N: Namespaces + ?Sized,
        F: FnOnce() -> R + Send,
        R: Send,
    {
        let joinable = ns.joinable()?;
        if worker::is_worker_of(joinable.target.id()) {
            // Already inside (a nested call on a namespace thread of `ns`).
            return Ok(f());
        }
        if self.inner.global {
            joinable.global_pool.run(f)
        } else {
            self.inner.pool_for(&joinable.target).run(f)
        }
    }

    /// Runs the future that `f` makes on the async thread of `ns` that belongs to
    /// this runtime; see [`NetNs::run_async`](crate::NetNs::run_async) for the guarantees.
    #[cfg(all(feature = "tokio", not(loom)))]
    pub fn run_async<N, F, Fut, R>(
        &self,
        ns: &N,
        f: F,
    ) -> impl std::future::Future<Output = Result<R>> + Send + 'static
    where
        N: Namespaces + ?Sized,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = R> + 'static,
        R: Send + 'static,
    {
        let pool = ns.joinable().map(|joinable| {
            if self.inner.global {
                joinable.global_pool.arc()
            } else {
                self.inner.pool_for(&joinable.target)
            }
        });
        async move { driver::run(pool?, f).await }
    }

    /// The maximum number of threads per namespace of this runtime.
    pub fn max_threads_per_ns(&self) -> usize {
        self.inner.config.max_threads
    }

    /// How long an idle namespace thread of this runtime waits for work before it
    /// exits.
    pub fn keep_alive(&self) -> Duration {
        self.inner.config.keep_alive
    }
}

impl RuntimeInner {
    /// The pool of `target`, made (without threads) if there is none.
    pub(crate) fn pool_for(self: &Arc<Self>, target: &Arc<Target>) -> Arc<Pool> {
        let id = target.id();
        let mut pools = self.pools.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(pool) = pools.get(&id).and_then(Weak::upgrade) {
            return pool;
        }
        let pool = Pool::new(Arc::clone(target), Arc::clone(self));
        pools.insert(id, Arc::downgrade(&pool));
        pool
    }

    /// Called by a pool being dropped: removes its entry unless a new pool for the
    /// same namespace has replaced it meanwhile.
    pub(crate) fn forget_pool(&self, id: TargetId) {
        let mut pools = self.pools.lock().unwrap_or_else(PoisonError::into_inner);
        if pools.get(&id).is_some_and(|pool| pool.strong_count() == 0) {
            pools.remove(&id);
        }
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("global", &self.inner.global)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// Settings for a [`Runtime`].
#[derive(Debug, Clone, Default)]
pub struct Builder {
    config: Config,
}

/// [`Builder::build_global`] was called after the global runtime already existed.
#[derive(Debug, thiserror::Error)]
#[error(
    "the global ns-runtime is already initialized; configure it before the first namespace call"
)]
pub struct GlobalAlreadySet;

impl Builder {
    /// At most this many threads per namespace serve calls from outside at once
    /// (default 8, at least 1). A new one starts only when a call has not been taken
    /// up and no call has finished for about a millisecond. Calls made
    /// from namespace threads may exceed it, so that A → B → A cannot deadlock.
    pub fn max_threads_per_ns(mut self, max: usize) -> Builder {
        self.config.max_threads = max.max(1);
        self
    }

    /// An idle namespace thread exits after this long without work (default 10 s).
    /// Nothing outlives its threads: once a namespace's last thread and handle are
    /// gone, the kernel can free it.
    pub fn keep_alive(mut self, keep_alive: Duration) -> Builder {
        self.config.keep_alive = keep_alive;
        self
    }

    /// How long a caller spins for its result, and a namespace thread (also the
    /// async one, when no body is running) for new work, before parking (default
    /// 50 µs). Spinning makes back-to-back calls cost well
    /// under a microsecond instead of a cross-CPU wake-up; zero parks at once.
    pub fn spin(mut self, spin: Duration) -> Builder {
        self.config.spin = spin;
        self
    }

    /// The longest a namespace thread keeps spinning for the next call when calls
    /// come often (default 500 µs). After each call it spins for 1.5 times the
    /// interval between its last two calls, within `spin ..= max_idle_spin`, then
    /// sleeps. A namespace called every few hundred microseconds thus answers in a
    /// hand-off (about 1 µs) rather than the wake-up of an idle CPU (about 10 µs on
    /// a virtual machine), at the price of one CPU kept busy while such calls go
    /// on. Zero (or anything up to `spin`) turns the adaptation off.
    pub fn max_idle_spin(mut self, max: Duration) -> Builder {
        self.config.max_idle_spin = max;
        self
    }

    /// Stack size of namespace threads (default: the standard library's default).
    pub fn stack_size(mut self, bytes: usize) -> Builder {
        self.config.stack_size = Some(bytes);
        self
    }

    /// A new runtime with these settings.
    pub fn build(self) -> Runtime {
        Runtime::with_config(self.config, false)
    }

    /// Makes these settings those of [`Runtime::global`].
    ///
    /// # Errors
    /// If the global runtime was already created (by this or by a first call).
    pub fn build_global(self) -> std::result::Result<(), GlobalAlreadySet> {
        let mut config = Some(self.config);
        GLOBAL.get_or_init(|| Runtime::with_config(config.take().unwrap_or_default(), true));
        match config {
            None => Ok(()),
            Some(_) => Err(GlobalAlreadySet),
        }
    }
}
