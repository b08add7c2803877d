//! The life of a runtime thread: born at home, it moves to wherever a call needs
//! it (only between bodies), serves, and goes home or exits when its target is
//! released. A thread that a body moved is retired, never reused.

use std::sync::Arc;

use super::latch::spin_until;
use super::place::MoveFailed;
use super::pool::{Next, Pool, Shared};
use super::sched::Instead;
use super::sleeper::Sleeper;
#[cfg(loom)]
use super::sync;
use super::worker::Worker;
use crate::error::{Error, Result};
use crate::registry;
use crate::stats::{event, LiveThread};

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
    if runtime.config.private_fs {
        if let Err(source) = worker.place.unshare_fs() {
            first.arrival_failed(&Error::syscall("unshare(CLONE_FS)", first.name(), source));
            return;
        }
    }
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
            match idle_at_home(&runtime, &worker.sleeper()) {
                Some(pool) => next = Some(pool),
                None => return,
            }
            continue;
        };
        match enter(&mut worker, &pool) {
            Ok(true) => event!(tid, ns = %pool.name(), "runtime thread entered"),
            Ok(false) if dedicated => return,
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
                // Threads of a target with a mount namespace are dedicated (see
                // `Pool::new`): entering one reset the thread's cwd and root, so
                // it exits rather than serve elsewhere (going "home" could even
                // step out of a chroot).
                if dedicated || runtime.is_closed() {
                    return;
                }
                if go_home(&mut worker).is_err() {
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

/// Moves into `pool`'s target (counted there as incoming) and says so to it.
/// Err: the thread is stranded somewhere it cannot leave and must end.
fn enter(worker: &mut Worker, pool: &Pool) -> std::result::Result<bool, ()> {
    let Some(target) = pool.target() else {
        // Released before we came: nobody can be waiting there.
        pool.arrival_failed(&Error::Abandoned {
            target: pool.name().to_owned(),
        });
        return Ok(false);
    };
    worker.registration.moving(target.homes());
    match worker.place.enter(&target) {
        Ok(()) => {
            drop(target); // the handles keep it, not its threads
            worker.registration.arrived();
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
            worker.registration.moving(Vec::new());
            worker.registration.arrived();
            Ok(false)
        }
    }
}

/// Goes back to the process's namespaces. Err: it could not, and must end.
fn go_home(worker: &mut Worker) -> std::result::Result<(), ()> {
    worker.registration.moving(Vec::new());
    worker.place.go_home().map_err(drop)?;
    worker.registration.arrived();
    set_thread_name(c"ns-idle");
    Ok(())
}

/// A thread at home, serving nobody: spins briefly for a demand, then sleeps
/// until one comes or the keep-alive runs out. `None`: exit.
fn idle_at_home(runtime: &Shared, sleeper: &Sleeper) -> Option<Arc<Pool>> {
    let since = std::time::Instant::now();
    loop {
        if runtime.is_closed() {
            return None;
        }
        runtime.sched.awake(1);
        spin_until(runtime.config.spin, || {
            runtime.sched.has_demand() || runtime.is_closed()
        });
        let remaining = runtime.config.keep_alive.saturating_sub(since.elapsed());
        if runtime.is_closed() || remaining.is_zero() {
            runtime.stop_awake();
            return None;
        }
        match runtime.sched.sleep_unless_demand(sleeper, &mut true) {
            Instead::Serve(pool) => return Some(pool),
            Instead::Exit => return None,
            Instead::Sleep => {}
        }
        let _ = sleeper.park(remaining);
        runtime.sched.forget_sleeper(sleeper);
    }
}
