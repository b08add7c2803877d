//! The runtime: its threads, which move between targets, and how calls reach them.
//!
//! Modules in layers, from the top: a module imports only from its own layer
//! or those below, and no two modules import each other.
//!
//! - `anchor`: what the handles of one target share; finds the pool of each
//!   runtime that calls it, without a lock.
//! - `driver` (async bodies: one thread per target) and `thread` (the life of a
//!   runtime thread: born at home, moves between targets, goes home or exits).
//! - `pool`: the calls of one target (hand-off cells, a queue behind them, the
//!   serving loop of its threads) and `Shared`, what a runtime's pools share;
//!   a pool asks for threads through `Shared`, which `thread` supplies.
//! - `worker` (what a thread keeps between calls, and whether a body moved
//!   it), `sched` (which thread goes where), `pace` (how long a thread spins
//!   and sleeps), `job` (a queued call on its caller's stack).
//! - `cells` (the hand-off), `quiet` (how a thread looks for calls after an
//!   answer), `cadence` (a steady caller's next call), `latch` (spins and
//!   waits), `birth` (a thread born from the process's own state).
//! - `place` (where a thread is, how it moves), `sleeper`, `config`,
//!   `driver_slot`, `ticks`, `cpu`, `fork`, `seal`, `sync`.
//!
//! A call's path, past the handle's entry (`NetNs::run` → `Runtime::run`,
//! which takes the handle's anchor: a line each), is in four files: `mod.rs`
//! (`Runtime::call`: inline if the thread already serves the target, else the
//! pool of this process's fork generation), `anchor.rs` (the runtime's pool,
//! found without a lock), `pool.rs` (`Pool::run`; and the answering thread's
//! loop: `serve`, `wait`, `answer`) and `cells.rs` (the hand-off, both sides).
//! On the way it calls helpers by name, each a line or a loop:
//! `place::here` (one thread-local: what the calling thread is),
//! `fork::generation` (one load), `latch::spin_until` (the caller's spin) and
//! `ticks::timed` (the body's span); the answering thread asks `worker` (was
//! the body slow, may it have moved the thread), `pace` (how long to spin) and
//! `quiet` (how many looks pass the answered cell by) a question each. A call
//! that queues reads `job.rs` and `latch.rs` too.

mod anchor;
#[cfg(not(loom))]
mod birth;
mod cadence;
mod cells;
mod config;
mod cpu;
#[cfg(all(feature = "tokio", not(loom)))]
pub(crate) mod driver;
#[cfg(all(feature = "tokio", not(loom)))]
mod driver_slot;
mod fork;
mod job;
mod latch;
#[cfg(all(test, loom))]
mod loom_tests;
mod pace;
mod place;
mod pool;
mod quiet;
mod sched;
#[cfg(not(loom))]
mod seal;
mod sleeper;
mod sync;
mod thread;
mod ticks;
mod worker;

use std::fmt;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

pub(crate) use anchor::{Anchor, AnchorRef};
/// Starts a thread from the process's own state (see `birth.rs`): for helpers
/// outside the runtime that must not inherit their caller's namespaces.
#[cfg(not(loom))]
#[allow(unused_imports)] // for modules that start helper threads
pub(crate) use birth::spawn as spawn_clean_thread;
use config::Config;
use pool::Shared;

use crate::error::Result;

/// The threads that run bodies inside namespaces, and their settings.
///
/// A runtime owns its threads; no thread of yours ever changes namespace. A
/// thread runs a body only while it is in the body's target (a namespace or a
/// set), and moves (one `setns` per namespace that differs) only between bodies:
/// to whichever target a call needs it in, cheapest first (a thread already
/// there; else an awake idle one; else one woken; else a new one). When the last
/// handle of a target is dropped, its threads leave it at once (a busy one after
/// its body), so the kernel can free it. Threads serving a mount namespace, and
/// every thread of a runtime built with [`Builder::dedicated_threads`], stay with
/// their target and exit instead.
///
/// Most programs use the process-wide [`Runtime::global`] through
/// [`NetNs::run`](crate::NetNs::run) and the [`in_netns`](crate::in_netns)
/// attribute. A separate runtime has its own threads and settings:
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
    generations: Arc<Generations>,
    /// Shared by the clones of this runtime; when the last one is dropped, the
    /// runtime's idle threads exit at once (busy ones after their body).
    _owner: Arc<Owner>,
}

struct Owner(Arc<Generations>);

impl Drop for Owner {
    fn drop(&mut self) {
        let shared = self.0.current();
        anchor::forget_runtime(shared.id, &shared.close());
    }
}

/// The state of a runtime in this process, and in the processes forked from it.
///
/// A child made by `fork` has one thread: every runtime thread of its parent is
/// gone, while the pools still count them. On its first call, the child starts
/// from a fresh state (new pools, new threads); the parent's is kept, unused, so
/// that nothing it points to is freed under a handle's feet.
struct Generations {
    config: Config,
    global: bool,
    /// The state of this process's generation (a leaked `Box` in `all`).
    current: AtomicPtr<Arc<Shared>>,
    // Boxed: `current` points at an element, which must not move when the
    // vector grows.
    #[allow(clippy::vec_box)]
    all: Mutex<Vec<Box<Arc<Shared>>>>,
}

impl Generations {
    fn new(config: Config, global: bool) -> Generations {
        let first = Box::new(Shared::new(config.clone(), thread::spawn));
        Generations {
            current: AtomicPtr::new(ptr_of(&first)),
            all: Mutex::new(vec![first]),
            config,
            global,
        }
    }

    /// The state for this process: one load and a compare, unless a `fork` came
    /// since it was made.
    #[inline]
    fn current(&self) -> &Arc<Shared> {
        // SAFETY: `current` points into a Box in `all`, which is never removed or
        // moved out while `self` lives.
        let shared = unsafe { &*self.current.load(Ordering::Acquire) };
        if shared.generation == fork::generation() {
            return shared;
        }
        self.renew()
    }

    #[cold]
    fn renew(&self) -> &Arc<Shared> {
        let mut all = self.all.lock().unwrap_or_else(PoisonError::into_inner);
        // SAFETY: as in `current`.
        let shared = unsafe { &*self.current.load(Ordering::Acquire) };
        if shared.generation == fork::generation() {
            return shared;
        }
        let fresh = Box::new(Shared::new(self.config.clone(), thread::spawn));
        self.current.store(ptr_of(&fresh), Ordering::Release);
        all.push(fresh);
        // SAFETY: as in `current`: just stored, and kept in `all`.
        unsafe { &*self.current.load(Ordering::Acquire) }
    }
}

/// The address of a boxed state, which stays put while the box lives.
fn ptr_of(shared: &Arc<Shared>) -> *mut Arc<Shared> {
    (shared as *const Arc<Shared>).cast_mut()
}

static GLOBAL: OnceLock<Runtime> = OnceLock::new();

impl Runtime {
    /// A builder for a runtime with other settings than the defaults.
    ///
    /// ```
    /// let rt = ns_runtime::Runtime::builder().dedicated_threads(true).build();
    /// # drop(rt);
    /// ```
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// The process-wide runtime that [`NetNs::run`](crate::NetNs::run), the other
    /// methods of handles and the attributes use (unless given `runtime = EXPR`).
    /// It is created with default settings by the first call through it (not by
    /// opening handles) unless [`Builder::build_global`] configured it before.
    ///
    /// ```
    /// let rt = ns_runtime::Runtime::global();
    /// assert_eq!(rt.max_threads_per_ns(), 8); // the default settings
    /// ```
    #[inline]
    pub fn global() -> &'static Runtime {
        GLOBAL.get_or_init(|| Runtime::with_config(Config::default(), true))
    }

    fn with_config(config: Config, global: bool) -> Runtime {
        fork::watch();
        let generations = Arc::new(Generations::new(config, global));
        Runtime {
            _owner: Arc::new(Owner(Arc::clone(&generations))),
            generations,
        }
    }

    /// Runs `f` on a thread of this runtime that is in `anchor`'s target.
    pub(crate) fn call<F, R>(&self, anchor: &Anchor, f: F) -> Result<R>
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        let here = place::here();
        if here.serves(anchor.target()) {
            // Already inside (a nested call on a thread serving this target).
            return Ok(f());
        }
        anchor
            .pool(self.generations.current())
            .run(f, here.is_runtime_thread())
    }

    /// Runs the future that `f` makes on the async thread of `anchor`'s target.
    #[cfg(all(feature = "tokio", not(loom)))]
    pub(crate) fn call_async<F, Fut, R>(
        &self,
        anchor: &Anchor,
        f: F,
    ) -> impl std::future::Future<Output = Result<R>> + Send + 'static
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = R> + 'static,
        R: Send + 'static,
    {
        let pool = Arc::clone(anchor.pool(self.generations.current()));
        async move { driver::run(pool, f).await }
    }

    /// A snapshot of what this runtime is doing: per target it served (whose
    /// handles still exist), its threads, queued calls and calls served; and how
    /// many runtime threads the process has.
    ///
    /// ```no_run
    /// use ns_runtime::{NetNs, Runtime};
    ///
    /// # fn main() -> Result<(), ns_runtime::Error> {
    /// let rt = Runtime::builder().build();
    /// let ns = NetNs::create()?;
    /// rt.run(&ns, || ())?;
    /// let stats = rt.stats();
    /// assert_eq!(stats.targets[0].calls, 1);
    /// println!("{} runtime threads; {:#?}", stats.process_threads, stats.targets);
    /// # Ok(())
    /// # }
    /// ```
    pub fn stats(&self) -> crate::stats::RuntimeStats {
        let shared = self.generations.current();
        let mut pools = shared.live_pools();
        pools.retain(|pool| !pool.is_leaving());
        crate::stats::RuntimeStats {
            process_threads: crate::stats::live_threads(),
            targets: pools.iter().map(|pool| pool.stats()).collect(),
        }
    }

    /// The maximum number of threads per namespace of this runtime.
    #[must_use]
    pub fn max_threads_per_ns(&self) -> usize {
        self.generations.config.max_threads
    }

    /// How long an idle thread of this runtime waits for work before it exits.
    #[must_use]
    pub fn keep_alive(&self) -> Duration {
        self.generations.config.keep_alive
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("global", &self.generations.global)
            .field("config", &self.generations.config)
            .finish_non_exhaustive()
    }
}

/// Settings for a [`Runtime`]: [`Runtime::builder`], the settings, then
/// [`build`](Builder::build) (a runtime of its own) or
/// [`build_global`](Builder::build_global) (the one [`NetNs::run`](crate::NetNs::run)
/// and the attributes without `runtime = EXPR` use).
///
/// ```
/// use std::time::Duration;
/// use ns_runtime::Runtime;
///
/// let rt = Runtime::builder()
///     .max_threads_per_ns(4)
///     .keep_alive(Duration::from_secs(30))
///     .build();
/// assert_eq!(rt.max_threads_per_ns(), 4);
/// ```
#[must_use = "a builder does nothing until `.build()` or `.build_global()`"]
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
    /// At most this many threads serve one target at once (default 8, at least 1).
    /// Another comes when callers outrun its threads or queue behind each other
    /// (up to [`Builder::throughput_threads_per_ns`]), or
    /// when a call has not been taken up and no call has finished for about a
    /// millisecond (bodies that block). Calls made from runtime threads may exceed
    /// it, so that A → B → A cannot deadlock.
    ///
    /// A thread that a body starts is not a runtime thread: its calls wait for a
    /// free thread like any outside caller's. So a body that waits for such a
    /// thread (joins it, or waits for its reply) while that thread calls into the
    /// body's own target deadlocks once the target's threads are all busy, at
    /// once with `max_threads_per_ns(1)`. Make the call from the body itself (it
    /// runs inline), don't wait for it inside the body, or allow more threads than
    /// bodies can wait like this at once.
    ///
    /// ```
    /// let rt = ns_runtime::Runtime::builder().max_threads_per_ns(1).build();
    /// assert_eq!(rt.max_threads_per_ns(), 1); // one body at a time per namespace
    /// ```
    pub fn max_threads_per_ns(mut self, max: usize) -> Builder {
        self.config.max_threads = max.max(1);
        self
    }

    /// How many threads one target grows to while its callers outrun its
    /// threads (default: half the CPUs this process may use, at least 1; never
    /// more than [`Builder::max_threads_per_ns`]). One thread answers
    /// back-to-back calls from up to eight callers through its hand-off cells;
    /// when it keeps finding calls already waiting as it comes back from each
    /// answer, or callers queue behind each other, another thread comes and
    /// takes a share of the callers, as long as the threads and their callers
    /// each have a CPU. `BENCHMARKS.md` has how calls a second into one
    /// namespace should scale with CPUs.
    ///
    /// ```
    /// // On a machine whose callers should leave most CPUs to other work.
    /// let rt = ns_runtime::Runtime::builder().throughput_threads_per_ns(2).build();
    /// # drop(rt);
    /// ```
    pub fn throughput_threads_per_ns(mut self, threads: usize) -> Builder {
        self.config.throughput_threads = threads.max(1);
        self
    }

    /// An idle thread exits after this long without work (default 10 s). A
    /// namespace does not wait for it: its threads leave it when its last handle
    /// is dropped.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = ns_runtime::Runtime::builder().keep_alive(Duration::from_millis(100)).build();
    /// assert_eq!(rt.keep_alive(), Duration::from_millis(100));
    /// ```
    pub fn keep_alive(mut self, keep_alive: Duration) -> Builder {
        self.config.keep_alive = keep_alive;
        self
    }

    /// How long a caller spins for its result, and an idle runtime thread for the
    /// next call, before parking (default 5 µs; a caller whose job is already
    /// running spins on up to 10 times as long, and an idle thread's spin adapts:
    /// see [`Builder::max_idle_spin`]). Back-to-back calls then cost a
    /// hand-off (well under a microsecond) rather than two wake-ups, and a steady
    /// call rate costs little CPU; zero parks at once. A caller that finds every
    /// hand-off cell of its target busy waits up to `spin` for one before it
    /// queues. A caller that had to wake a sleeping thread gives up its CPU once
    /// and parks, whatever the setting; one whose call a thread moves to serve
    /// spins 4 times as long. See
    /// [`Builder::latency_first`] and [`Builder::max_idle_spin`].
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// // Callers park at once: the least CPU, a wake-up per call.
    /// let rt = ns_runtime::Runtime::builder().spin(Duration::ZERO).build();
    /// # drop(rt);
    /// ```
    pub fn spin(mut self, spin: Duration) -> Builder {
        self.config.spin = spin;
        self
    }

    /// The longest a runtime thread keeps spinning for the next call when calls
    /// come often (default 5 µs, the same as `spin`). Above `spin`, after each
    /// call it spins for 1.5 times the interval between its last two calls,
    /// within `spin ..= max_idle_spin`, then sleeps: a target called every few
    /// hundred microseconds then answers in a hand-off (about 1 µs) rather than
    /// the wake-up of an idle CPU (about 10–30 µs on a virtual machine), at the
    /// price of one CPU kept busy while such calls go on.
    ///
    /// Whatever the setting, the spin follows how soon calls come: after a call
    /// that woke the thread shortly after it fell asleep (a caller that was
    /// itself woken on another CPU), it spins 1.5 times that sleep, up to
    /// `max(max_idle_spin, 50 µs)`; after one that woke it from a sleep longer
    /// than `max(4 x max_idle_spin, 50 µs)`, it does not spin at all (sparse
    /// calls: a spin that cannot catch the next call would only make it slower).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// // A target called every 100-200 µs: its thread waits for the next call.
    /// let rt = ns_runtime::Runtime::builder().max_idle_spin(Duration::from_micros(300)).build();
    /// # drop(rt);
    /// ```
    pub fn max_idle_spin(mut self, max: Duration) -> Builder {
        self.config.max_idle_spin = max;
        self
    }

    /// Trades CPU for latency: callers spin up to 50 µs for their result and
    /// runtime threads up to 500 µs for the next call (`spin(50 µs)`,
    /// `max_idle_spin(500 µs)`). Calls a few hundred microseconds apart then cost
    /// a hand-off instead of a wake-up, and a steady rate of a thousand calls a
    /// second keeps about half a core busy spinning (`BENCHMARKS.md` has the
    /// figures).
    ///
    /// ```
    /// let rt = ns_runtime::Runtime::builder().latency_first().build();
    /// # drop(rt);
    /// ```
    pub fn latency_first(self) -> Builder {
        self.spin(Duration::from_micros(50))
            .max_idle_spin(Duration::from_micros(500))
    }

    /// Whether a runtime thread serving a caller that calls at a steady rate
    /// (a timer-driven daemon: the gaps between its calls agree within an
    /// eighth, their mean deviation under 30 µs, and the thread sleeps longer
    /// than `max(4 x max(spin, max_idle_spin), 50 µs)` between them, up to 1 s;
    /// shorter pauses are met by the idle spin) sets a timer for just before
    /// the next call is due, instead of sleeping until the call wakes it
    /// (default `true`). The call is then handed over as if back to back
    /// (about 1–2 µs instead of a wake-up's 6–8 µs on the machine measured),
    /// for one timer wake-up and a spin of 15–20 µs a call (at most about
    /// 170 µs, however the timers and the caller vary): at a thousand calls a
    /// second, about 2 points of a core more, at three thousand about 8
    /// (`BENCHMARKS.md`). Calls that come at random set no timer. Off, every
    /// sparse call wakes its thread.
    ///
    /// ```
    /// let rt = ns_runtime::Runtime::builder().anticipate_steady_calls(false).build();
    /// # drop(rt);
    /// ```
    pub fn anticipate_steady_calls(mut self, anticipate: bool) -> Builder {
        self.config.anticipate = anticipate;
        self
    }

    /// Keeps every thread with the target it first served (default `false`): it
    /// never moves to another, and exits when the target is released or after the
    /// keep-alive. For programs that keep per-namespace state in thread-locals;
    /// otherwise a thread-local seen by one body may have been set by a body of
    /// another namespace. (Threads serving a mount namespace are always dedicated.)
    ///
    /// ```no_run
    /// use std::cell::Cell;
    /// use ns_runtime::{NetNs, Runtime};
    ///
    /// thread_local!(static CALLS: Cell<u32> = const { Cell::new(0) });
    ///
    /// # fn main() -> Result<(), ns_runtime::Error> {
    /// let rt = Runtime::builder().dedicated_threads(true).build();
    /// let (a, b) = (NetNs::create()?, NetNs::create()?);
    /// let count = || CALLS.with(|c| { c.set(c.get() + 1); c.get() });
    /// assert_eq!(rt.run(&a, count)?, 1);
    /// assert_eq!(rt.run(&b, count)?, 1); // another thread: `a`'s count is not seen
    /// # Ok(())
    /// # }
    /// ```
    pub fn dedicated_threads(mut self, dedicated: bool) -> Builder {
        self.config.dedicated = dedicated;
        self
    }

    /// Seals the runtime's threads (default `false`): each installs a seccomp
    /// filter that makes `setns`, `unshare` and namespace-creating `clone` fail
    /// with `EPERM` inside bodies, while the runtime's own moves keep working. No
    /// call then ever runs in the wrong place, whatever code a body calls.
    ///
    /// The cost: a filter that the kernel runs on every system call of a runtime
    /// thread (a few nanoseconds each), and threads and processes that a body
    /// starts inherit it: a program run from a body cannot enter or create
    /// namespaces (`ip netns exec`, `unshare`, container runtimes). `clone3` is
    /// refused with `ENOSYS` (its flags are out of a filter's reach), so the C
    /// library falls back to `clone`. It stops accidents, not attackers: a body
    /// that reads the runtime's memory can find the token its own calls carry.
    ///
    /// ```no_run
    /// use ns_runtime::{NetNs, Runtime};
    ///
    /// # fn main() -> Result<(), ns_runtime::Error> {
    /// let rt = Runtime::builder().sealed(true).build();
    /// let ns = NetNs::create()?;
    /// let refused = rt.run(&ns, || nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET))?;
    /// assert_eq!(refused, Err(nix::errno::Errno::EPERM));
    /// # Ok(())
    /// # }
    /// ```
    pub fn sealed(mut self, sealed: bool) -> Builder {
        self.config.sealed = sealed;
        self
    }

    /// Gives every runtime thread a cwd, root and umask of its own at birth
    /// (`unshare(CLONE_FS)`; default `false`), copied from the process's: a body's
    /// `chdir` or `umask` then stays on its thread and never reaches the program's
    /// threads. Async threads too.
    ///
    /// What it costs: a relative path in a body resolves against the directory the
    /// process had when the thread was born, not against the one it has now; and
    /// what a body changed stays with its thread for the thread's next bodies, of
    /// any namespace (use absolute paths, and undo what a body changes). A body
    /// still must not `chroot`: its thread would keep the new root, where the
    /// runtime's checks cannot read `/proc`.
    ///
    /// By default threads share the process's fs struct, so that relative paths in
    /// bodies mean what they mean in the rest of the program, and a body's `chdir`
    /// is the program's, as on any thread (a body that unshares the fs struct is
    /// caught, and its thread retired). Either way a thread unshares it before it
    /// enters a mount namespace, so no other thread's root or cwd moves.
    ///
    /// ```no_run
    /// use ns_runtime::{NetNs, Runtime};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let rt = Runtime::builder().private_fs(true).build();
    /// let ns = NetNs::create()?;
    /// let before = std::env::current_dir()?;
    /// rt.run(&ns, || std::env::set_current_dir("/"))??;
    /// assert_eq!(std::env::current_dir()?, before); // the program's did not move
    /// # Ok(())
    /// # }
    /// ```
    pub fn private_fs(mut self, private: bool) -> Builder {
        self.config.private_fs = private;
        self
    }

    /// Stack size of runtime threads (default: the standard library's default).
    ///
    /// ```
    /// let rt = ns_runtime::Runtime::builder().stack_size(256 * 1024).build();
    /// # drop(rt);
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Builder {
        self.config.stack_size = Some(bytes);
        self
    }

    /// A new runtime with these settings. Its threads start on its first call;
    /// dropping it (every clone) lets its idle threads exit at once.
    ///
    /// ```no_run
    /// use ns_runtime::{NetNs, Runtime};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let rt = Runtime::builder().max_threads_per_ns(2).build();
    /// let ns = NetNs::create()?;
    /// let dev = rt.run(&ns, || std::fs::read_to_string("/proc/thread-self/net/dev"))??;
    /// # let _ = dev;
    /// drop(rt); // its threads exit; `ns` keeps working through the global runtime
    /// # Ok(())
    /// # }
    /// ```
    #[must_use = "a runtime that is dropped at once has served nothing"]
    pub fn build(self) -> Runtime {
        Runtime::with_config(self.config, false)
    }

    /// Makes these settings those of [`Runtime::global`].
    ///
    /// # Errors
    /// If the global runtime exists already: made by an earlier `build_global`, or
    /// by the first call through it (`ns.run`, `run_async`, an attributed
    /// function, a convenience such as `set_loopback_up`, or
    /// [`Runtime::global`] itself). Opening, creating or comparing handles does
    /// not make it.
    ///
    /// ```no_run
    /// use ns_runtime::{NetNs, Runtime};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let ns = NetNs::create()?; // opening handles does not make the global runtime
    /// Runtime::builder().sealed(true).build_global()?;
    /// ns.run(|| { /* on a sealed runtime thread */ })?;
    /// assert!(Runtime::builder().build_global().is_err()); // configured once
    /// # Ok(())
    /// # }
    /// ```
    pub fn build_global(self) -> std::result::Result<(), GlobalAlreadySet> {
        let mut config = Some(self.config);
        GLOBAL.get_or_init(|| Runtime::with_config(config.take().unwrap_or_default(), true));
        match config {
            None => Ok(()),
            Some(_) => Err(GlobalAlreadySet),
        }
    }
}
