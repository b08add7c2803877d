//! What a runtime thread keeps from one call to the next (how long it spins,
//! how it looks for calls, where it is), and the checks that tell whether a
//! body moved it: a thread that a body moved is retired, never reused.

use super::cpu::Mover;
use super::pace::Pace;
use super::place::Place;
use super::quiet::Quiet;
use super::sleeper::Sleeper;
use super::ticks::{self, Span};
use crate::registry::{self, Damage, Registration};
use crate::sys;
use crate::target::TargetKey;

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
    pub(crate) registration: Registration,
    pub(crate) place: Place,
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
    /// Calls in a row that were waiting in another of its cells when it came
    /// back from an answer (see `Pool::note_backlog`).
    pub(crate) backlog: u32,
    /// This thread's id and its process's, for `kcmp` (a thread of a runtime
    /// never outlives a fork: only the forking thread goes on in the child).
    ids: (libc::pid_t, libc::pid_t),
    /// What a body did to it, if anything.
    pub(crate) damage: Option<Damage>,
}

impl Worker {
    pub(crate) fn new(config: &super::config::Config) -> Worker {
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
            backlog: 0,
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

    /// Whether the thread is still fit to serve the target of `key` after a call whose body
    /// ran for `body`: looked at fully once [`CHECK_EVERY`] calls have run
    /// since a body that may have moved it; nothing to look at after bodies too
    /// short to have made a system call.
    pub(crate) fn after_call(&mut self, key: &TargetKey, body: Span) -> bool {
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
        self.still_in(key, Look::BeforeSleeping)
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

    /// Whether the thread is still fit to serve the target of `key`: in it, sharing
    /// the process's fd table and (unless it serves a mount namespace) fs struct.
    pub(crate) fn still_in(&mut self, key: &TargetKey, look: Look) -> bool {
        self.damage = match look {
            Look::BeforeMoving => self.moved_away(key),
            Look::BeforeSleeping => {
                self.suspect_calls = None;
                self.find_damage(key)
            }
        };
        self.damage.is_none()
    }

    fn moved_away(&self, key: &TargetKey) -> Option<Damage> {
        if cfg!(loom) {
            return None;
        }
        let (kind, home, found) = key.moved_away()?;
        Some(Damage::Moved(kind, home, found))
    }

    fn find_damage(&self, key: &TargetKey) -> Option<Damage> {
        if cfg!(loom) {
            return None;
        }
        if let Some(moved) = self.moved_away(key) {
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
}
