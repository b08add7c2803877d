//! The life of a runtime thread: born at home, it moves to wherever a call needs
//! it (only between bodies), serves, and goes home or exits when its target is
//! released. A thread that a body moved is retired, never reused.

use std::sync::Arc;

use super::cpu::Mover;
use super::pace::Pace;
use super::place::{MoveFailed, Place};
use super::pool::{Next, Pool};
use super::quiet::Quiet;
use super::sleeper::Sleeper;
#[cfg(loom)]
use super::sync;
use super::ticks::{self, Span};
use super::Shared;
use crate::error::{Error, Result};
use crate::registry::{self, Damage, Registration};
use crate::stats::{event, LiveThread};
use crate::sys;

/// A body may move its thread through code the attribute cannot see; a thread
/// checks where it is before it sleeps, and at most this many calls after a
/// body that may have moved it (one that took as long as a system call: see
/// `ticks.rs`).
pub(crate) const CHECK_EVERY: u32 = 64;

/// When a worker looks at where it is ([`Worker::still_in`]).
#[derive(Clone, Copy)]
pub(crate) enum Look {
    /// Before it may take another target's demand: only its namespaces (one
    /// `stat` per kind), so that a thread a body moved is retired, never
    /// reassigned; the fd table and fs struct are looked at before it sleeps.
    BeforeMoving,
    /// Before it sleeps: all of it.
    BeforeSleeping,
}

pub(crate) struct Worker {
    registration: Registration,
    place: Place,
    sleeper: Sleeper,
    /// How long it spins for the next call when idle.
    pub(crate) pace: Pace,
    /// Moves it off a CPU it shares with its caller.
    pub(crate) mover: Mover,
    /// How many looks for calls pass a cell by after it answered it (kept
    /// when it moves to another target: the gap across the move is one of a
    /// batch's 256, or too long to count).
    quiet: Quiet,
    /// Calls since the first body after the last check that may have made a
    /// system call (none: no body since could have moved the thread).
    suspect_calls: Option<u32>,
    /// See [`ticks::syscall_bar`].
    syscall_bar: u64,
    /// Its last body was slow ([`ticks::slow`]): it arms one cell, so that no
    /// call waits in its cells behind such a body (see `Pool::wait`).
    pub(crate) slow_body: bool,
    /// Its last call, since it last slept or moved, came through a cell whose
    /// caller spun for the answer rather than parking (see `Pool::wait`).
    pub(crate) caller_spun: bool,
    /// This thread's id and its process's, for `kcmp` (a thread of a runtime
    /// never outlives a fork: only the forking thread goes on in the child).
    ids: (libc::pid_t, libc::pid_t),
    /// What a body did to it, if anything.
    damage: Option<Damage>,
}

impl Worker {
    fn new(config: &super::Config) -> Worker {
        Worker {
            registration: registry::register(Vec::new()),
            place: Place::of_current_thread(),
            sleeper: Sleeper::new(),
            pace: Pace::new(config),
            mover: Mover::default(),
            quiet: Quiet::default(),
            suspect_calls: None,
            syscall_bar: ticks::syscall_bar(),
            slow_body: false,
            caller_spun: false,
            ids: (
                nix::unistd::gettid().as_raw(),
                nix::unistd::getpid().as_raw(),
            ),
            damage: None,
        }
    }

    pub(crate) fn sleeper(&self) -> Sleeper {
        self.sleeper.clone()
    }

    /// Whether the thread is still fit to serve `pool` after a call whose body
    /// ran for `body`: looked at fully once [`CHECK_EVERY`] calls have run
    /// since a body that may have moved it; nothing to look at after bodies too
    /// short to have made a system call.
    pub(crate) fn after_call(&mut self, pool: &Pool, body: Span) -> bool {
        self.slow_body = self.slow(body);
        let calls = match self.suspect_calls {
            None if ticks::made_no_syscall(body, self.syscall_bar) => return true,
            None => 1,
            Some(calls) => calls + 1,
        };
        if calls < CHECK_EVERY {
            self.suspect_calls = Some(calls);
            return true;
        }
        self.still_in(pool, Look::BeforeSleeping)
    }

    /// Looks for calls that pass by the cell of a call whose body ran for
    /// `body` (see `quiet.rs`).
    pub(crate) fn quiet_looks(&mut self, body: Span) -> u32 {
        self.quiet.after(body, self.syscall_bar)
    }

    /// Whether a body that ran for `body` was slow ([`ticks::slow`]).
    pub(crate) fn slow(&self, body: Span) -> bool {
        ticks::slow(body, self.syscall_bar)
    }

    /// Whether the thread is still fit to serve `pool`: in its target, sharing
    /// the process's fd table and (unless it serves a mount namespace) fs struct.
    pub(crate) fn still_in(&mut self, pool: &Pool, look: Look) -> bool {
        self.damage = match look {
            Look::BeforeMoving => self.moved_away(pool),
            Look::BeforeSleeping => {
                self.suspect_calls = None;
                self.find_damage(pool)
            }
        };
        self.damage.is_none()
    }

    fn moved_away(&self, pool: &Pool) -> Option<Damage> {
        if cfg!(loom) {
            return None;
        }
        let (kind, home, found) = pool.key().moved_away()?;
        Some(Damage::Moved(kind, home, found))
    }

    fn find_damage(&self, pool: &Pool) -> Option<Damage> {
        if cfg!(loom) {
            return None;
        }
        if let Some(moved) = self.moved_away(pool) {
            return Some(moved);
        }
        // (`None`: kcmp is not allowed here; nothing to tell, keep serving.)
        if sys::shares_with_main_thread(self.ids.0, self.ids.1, true) == Some(false) {
            return Some(Damage::FdTable);
        }
        if !self.place.has_private_fs()
            && sys::shares_with_main_thread(self.ids.0, self.ids.1, false) == Some(false)
        {
            return Some(Damage::FsStruct);
        }
        None
    }

    /// Moves into `pool`'s target (counted there as incoming) and says so to it.
    /// Err: the thread is stranded somewhere it cannot leave and must end.
    fn enter(&mut self, pool: &Pool) -> std::result::Result<bool, ()> {
        let Some(target) = pool.target() else {
            // Released before we came: nobody can be waiting there.
            pool.arrival_failed(&Error::Abandoned {
                target: pool.name().to_owned(),
            });
            return Ok(false);
        };
        self.registration.moving(target.homes());
        match self.place.enter(&target) {
            Ok(()) => {
                drop(target); // the handles keep it, not its threads
                self.registration.arrived();
                set_thread_name(&pool.thread_name);
                pool.arrived();
                Ok(true)
            }
            Err(MoveFailed { error, stranded }) => {
                drop(target);
                event!(ns = %pool.name(), %error, "runtime thread could not enter");
                pool.arrival_failed(&error);
                if stranded {
                    return Err(());
                }
                self.registration.moving(Vec::new());
                self.registration.arrived();
                Ok(false)
            }
        }
    }

    /// Goes back to the process's namespaces. Err: it could not, and must end.
    fn go_home(&mut self) -> std::result::Result<(), ()> {
        self.registration.moving(Vec::new());
        self.place.go_home().map_err(drop)?;
        self.registration.arrived();
        set_thread_name(c"ns-idle");
        Ok(())
    }
}

/// Starts a runtime thread whose first assignment is `pool` (counted there as
/// incoming).
///
/// # Errors
/// [`Error::ThreadSpawn`] if the system refused a thread.
pub(crate) fn spawn(pool: Arc<Pool>) -> Result<()> {
    // `comm` is renamed after each target it enters (`ns-INODE`, `ns-idle`).
    let name = "ns-worker".to_owned();
    let target = pool.name().to_owned();
    let stack_size = pool.runtime.config.stack_size;
    #[cfg(not(loom))]
    return super::birth::spawn(name, stack_size, &target, move || main(pool));
    #[cfg(loom)]
    sync::spawn(name, stack_size, move || main(pool))
        .map(drop)
        .map_err(|source| Error::ThreadSpawn { target, source })
}

fn main(first: Arc<Pool>) {
    let _live = LiveThread::begin();
    let runtime: Arc<Shared> = Arc::clone(&first.runtime);
    let dedicated = first.dedicated;
    let mut worker = Worker::new(&runtime.config);
    if runtime.config.anticipate {
        precise_timers();
    }
    let tid = worker.registration.tid();
    event!(tid, first = %first.name(), dedicated, "runtime thread started");
    #[cfg(not(loom))]
    if runtime.config.sealed {
        if let Err(source) = super::seal::seal_current_thread() {
            first.arrival_failed(&Error::syscall("seccomp", first.name(), source));
            return;
        }
    }
    let mut next = Some(first);
    loop {
        let Some(pool) = next.take() else {
            // At home, serving nobody.
            match runtime.idle_at_home(&worker.sleeper) {
                Some(pool) => next = Some(pool),
                None => return,
            }
            continue;
        };
        match worker.enter(&pool) {
            Ok(true) => event!(tid, ns = %pool.name(), "runtime thread entered"),
            Ok(false) if dedicated || worker.place.has_private_fs() => return,
            Ok(false) => continue,
            Err(()) => {
                event!(tid, ns = %pool.name(), "runtime thread stranded, exits");
                return;
            }
        }
        let outcome = pool.serve(&mut worker);
        pool.left();
        match outcome {
            Next::Serve(other) => next = Some(other),
            Next::Exit => {
                event!(tid, ns = %pool.name(), "runtime thread idle for the keep-alive, exits");
                return;
            }
            Next::Retire => {
                if let Some(damage) = worker.damage {
                    event!(tid, ns = %pool.name(), ?damage, "runtime thread damaged by a body, retired");
                    registry::retire(tid, damage);
                }
                return;
            }
            Next::Leave => {
                // A thread with a private fs struct has its own cwd and root: it
                // exits rather than serve elsewhere (entering a mount namespace
                // reset them; going "home" could even step out of a chroot).
                if dedicated || worker.place.has_private_fs() || runtime.is_closed() {
                    return;
                }
                if worker.go_home().is_err() {
                    event!(tid, "runtime thread could not go home, exits");
                    return;
                }
                event!(tid, left = %pool.name(), "runtime thread went home");
            }
        }
    }
}

/// A thread that sets a timer for a steady caller's next call (`cadence.rs`)
/// wakes late by its timer slack on top of the idle CPU's own wake-up: 50 µs
/// by default, as long as the pause itself at a few thousand calls a second.
/// Precise timers cost nothing while no timer is set. (Bodies' own sleeps on
/// the thread get them too: they wake when asked, not up to 50 µs later.)
fn precise_timers() {
    if !cfg!(loom) {
        let _ = nix::sys::prctl::set_timerslack(1_000);
    }
}

/// Names the calling thread (what `ps -L` and `/proc/self/task/*/comm` show).
fn set_thread_name(name: &std::ffi::CStr) {
    if !cfg!(loom) {
        let _ = nix::sys::prctl::set_name(name);
    }
}
