//! Async bodies: per target, one thread that entered it once and drives every
//! async body of that target on a tokio current-thread runtime with a
//! `LocalSet`, so bodies need not be `Send` and many run at once on one thread.
//! Its sockets are registered with that runtime, so it never moves: it exits when
//! the target is released (after its bodies) or after the keep-alive.
//!
//! ```text
//! caller task (any executor)              driver thread (inside the namespace)
//! --------------------------              ------------------------------------
//! run_async(f).await
//!   channel.send(job) ------------------> recv job, spawn_local(body task):
//!   await oneshot                            f() -> future; poll it, each poll under
//!                                            catch_unwind; stop if the caller's end
//!                                            of the oneshot is dropped (cancelled)
//!   <---------------------------------------- send Ok(value) / Err(panic payload)
//!   value / resume_unwind(payload)
//! ```
//!
//! Every drop of a body on this thread (its closure, its future when it completes
//! or is cancelled, a value or panic its caller no longer waits for) is guarded: a
//! panic in `Drop` is caught there, so it can neither end the thread nor keep it
//! counting a body that is gone.
//!
//! The driver exits after `keep_alive` with no body running and no job sent;
//! its channel is closed first, so a caller racing with the exit starts a new
//! driver instead of losing its job.

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::sync::Arc;
use std::task::Poll;

use tokio::sync::{mpsc, oneshot, Notify};

use super::driver_slot::AsyncJob;
use super::latch::spin_until;
use super::place::Place;
use super::pool::Pool;
use crate::error::{Error, Result};
use crate::registry;

/// What a body's task sends back: its value, its panic, or why it never ran.
type Outcome<R> = Result<std::thread::Result<R>>;

struct Task<F, R> {
    f: F,
    reply: oneshot::Sender<Outcome<R>>,
}

impl<F, Fut, R> AsyncJob for Task<F, R>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = R> + 'static,
    R: Send + 'static,
{
    fn start(self: Box<Self>) -> Pin<Box<dyn Future<Output = ()>>> {
        let Task { f, mut reply } = *self;
        Box::pin(async move {
            // Unwind safety: after a panic the future is dropped, never polled again.
            // Calling `f` consumes it: its captures are dropped under this guard too.
            let future = match catch_unwind(AssertUnwindSafe(f)) {
                Ok(future) => future,
                Err(payload) => return send_or_discard(reply, Err(payload)),
            };
            // In an `Option`, so that it can be dropped in place under a guard.
            let mut body = pin!(Some(future));
            let outcome = poll_fn(|cx| {
                let Some(future) = body.as_mut().as_pin_mut() else {
                    return Poll::Ready(None);
                };
                match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
                    Ok(Poll::Ready(value)) => Poll::Ready(Some(Ok(value))),
                    Err(payload) => Poll::Ready(Some(Err(payload))),
                    // The caller dropped its future: cancel the body here, at the
                    // await point where it is suspended.
                    Ok(Poll::Pending) if reply.poll_closed(cx).is_ready() => Poll::Ready(None),
                    Ok(Poll::Pending) => Poll::Pending,
                }
            })
            .await;
            // The body's future goes before its caller hears back, as a function's
            // locals do before it returns. A panic in its `Drop` is the body's panic;
            // nobody hears of it if the body was cancelled.
            let dropped = catch_unwind(AssertUnwindSafe(|| body.set(None)));
            match (outcome, dropped) {
                (Some(outcome), Ok(())) => send_or_discard(reply, outcome),
                (Some(Ok(value)), Err(payload)) => {
                    discard(value);
                    send_or_discard(reply, Err(payload));
                }
                (Some(Err(first)), Err(second)) => {
                    discard(second);
                    send_or_discard(reply, Err(first));
                }
                (None, Err(payload)) => discard(payload),
                (None, Ok(())) => {}
            }
        })
    }

    fn fail(self: Box<Self>, err: Error) {
        let Task { f, reply } = *self;
        discard(f);
        let _ = reply.send(Err(err));
    }
}

/// Sends a body's outcome to its caller; if the caller is gone, drops it here
/// under a guard.
fn send_or_discard<R>(reply: oneshot::Sender<Outcome<R>>, outcome: std::thread::Result<R>) {
    if let Err(unsent) = reply.send(Ok(outcome)) {
        discard(unsent);
    }
}

/// Drops `value` on the driver thread, catching a panic in its `Drop` (and in the
/// `Drop` of that panic's payload, which is then leaked): a body's value, future or
/// closure must not end the thread or the task that counts the running bodies.
fn discard<T>(value: T) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(|| drop(value))) {
        if let Err(again) = catch_unwind(AssertUnwindSafe(|| drop(payload))) {
            std::mem::forget(again);
        }
    }
}

/// Runs `f` on the driver of `pool` and resolves to its value; resumes its panic.
/// Nothing happens until the returned future is first polled.
pub(crate) async fn run<F, Fut, R>(pool: Arc<Pool>, f: F) -> Result<R>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = R> + 'static,
    R: Send + 'static,
{
    let (reply, outcome) = oneshot::channel();
    submit(&pool, Box::new(Task { f, reply }))?;
    match outcome.await {
        Ok(Ok(Ok(value))) => Ok(value),
        Ok(Ok(Err(payload))) => resume_unwind(payload),
        Ok(Err(err)) => Err(err),
        Err(_) => Err(Error::Abandoned {
            target: pool.name().to_owned(),
        }),
    }
}

/// Hands `job` to `pool`'s driver, starting one if none runs (or the last one
/// is exiting).
///
/// # Errors
/// Only if a thread could not be created; every other failure reaches the job.
fn submit(pool: &Arc<Pool>, job: Box<dyn AsyncJob>) -> Result<()> {
    pool.driver.send_or_start(job, |job| {
        let Some(target) = pool.target() else {
            // Released: no handle is left, so no caller can be here.
            return Err(Error::Abandoned {
                target: pool.name().to_owned(),
            });
        };
        let (jobs, queue) = mpsc::unbounded_channel();
        let _ = jobs.send(job); // `queue` is alive: cannot fail
                                // `nsa-INODE`: a thread name has at most 15 bytes.
        let name = target.thread_name(true);
        let driven = Arc::clone(pool);
        super::birth::spawn(
            name,
            pool.runtime.config.stack_size,
            pool.name(),
            move || main(&driven, target, queue),
        )?;
        Ok(jobs)
    })
}

/// The driver thread: enter, then drive bodies until the channel is closed and
/// every body is done.
fn main(
    pool: &Arc<Pool>,
    target: Arc<crate::target::Target>,
    mut queue: mpsc::UnboundedReceiver<Box<dyn AsyncJob>>,
) {
    let _live = crate::stats::LiveThread::begin();
    crate::stats::event!(ns = %pool.name(), "async thread started");
    let registration = registry::register(target.homes());
    registration.moving(target.homes());
    let mut place = Place::of_current_thread();
    let config = &pool.runtime.config;
    let private = if config.private_fs {
        place
            .unshare_fs()
            .map_err(|source| Error::syscall("unshare(CLONE_FS)", pool.name(), source))
    } else {
        Ok(())
    };
    let sealed = private.and_then(|()| {
        if config.sealed {
            super::seal::seal_current_thread()
                .map_err(|source| Error::syscall("seccomp", pool.name(), source))
        } else {
            Ok(())
        }
    });
    let entered = sealed.and_then(|()| place.enter(&target).map_err(|failed| failed.error));
    drop(target); // the handles keep it, not its threads
    let inside = entered.and_then(|()| {
        registration.arrived();
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| Error::syscall("starting a tokio runtime", pool.name(), source))
    });
    let runtime = match inside {
        Ok(inside) => inside,
        Err(err) => {
            queue.close();
            while let Ok(job) = queue.try_recv() {
                job.fail(err.replicate());
            }
            return;
        }
    };
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, serve(pool, &mut queue));
    if let Some((kind, home, found)) = pool.key().moved_away() {
        registry::retire(
            registration.tid(),
            registry::Damage::Moved(kind, home, found),
        );
    }
}

/// Spawns each body as a local task; whenever none is left, checks that the
/// thread is still home and waits up to `keep_alive` for more.
async fn serve(pool: &Arc<Pool>, queue: &mut mpsc::UnboundedReceiver<Box<dyn AsyncJob>>) {
    let running = Rc::new(Cell::new(0_usize));
    let all_done = Rc::new(Notify::new());
    let keep_alive = pool.runtime.config.keep_alive;
    let spin = pool.runtime.config.spin;
    let mut moved = false;
    loop {
        let job = if running.get() > 0 {
            tokio::select! {
                job = queue.recv() => job,
                () = all_done.notified() => continue,
            }
        } else {
            // A body moved this thread out (through code the attribute cannot
            // see): take no more; the jobs already sent go to a new driver.
            if !moved && pool.key().moved_away().is_some() {
                moved = true;
                queue.close();
                while let Ok(job) = queue.try_recv() {
                    // If no thread can be started, the job's caller sees `Abandoned`
                    // and the job is dropped here: guard its closure's `Drop`.
                    discard(catch_unwind(AssertUnwindSafe(|| submit(pool, job))));
                }
            }
            // No body to hold up: spin a little for the next job before parking,
            // so that back-to-back calls cost a hand-off rather than a wake-up.
            let mut early = None;
            spin_until(spin, || match queue.try_recv() {
                Ok(job) => {
                    early = Some(job);
                    true
                }
                Err(mpsc::error::TryRecvError::Empty) => false,
                Err(mpsc::error::TryRecvError::Disconnected) => true,
            });
            if early.is_some() {
                early
            } else {
                tokio::select! {
                job = queue.recv() => job,
                () = tokio::time::sleep(keep_alive) => {
                    // Idle: refuse new jobs, take those already sent, then exit.
                    queue.close();
                    continue;
                }
                }
            }
        };
        let Some(job) = job else {
            break; // closed (idle, moved, or the runtime was dropped) and drained
        };
        running.set(running.get() + 1);
        let task = job.start();
        // Counted down however the task ends, even if it were to panic.
        let done = Running(Rc::clone(&running), Rc::clone(&all_done));
        tokio::task::spawn_local(async move {
            task.await;
            drop(done);
        });
    }
    while running.get() > 0 {
        all_done.notified().await;
    }
}

/// One running body: counts it down and wakes the server when the last ends.
struct Running(Rc<Cell<usize>>, Rc<Notify>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
        if self.0.get() == 0 {
            self.1.notify_one();
        }
    }
}
