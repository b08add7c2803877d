//! Where runtime threads are born: not from whichever thread happened to need
//! one (a thread inherits its creator's namespaces, capabilities, signal mask and
//! CPU set), but from one runtime-owned thread, the *spawner*, that put itself in
//! the process's own state first: the main thread's namespaces and CPU set, and
//! every asynchronous signal blocked (a SIGTERM meant for the application never
//! lands on a runtime thread). What a thread cannot regain (capabilities,
//! `no_new_privs`, a seccomp filter, a mount namespace of its own) is detected,
//! and that start fails with [`Error::UncleanStart`] rather than run with less
//! than the process has.

use std::io;
use std::sync::mpsc;
use std::sync::{Mutex, PoisonError};

use crate::error::{Error, Result};

type Job = Box<dyn FnOnce() + Send>;

struct Request {
    name: String,
    stack_size: Option<usize>,
    body: Job,
    reply: mpsc::SyncSender<io::Result<()>>,
}

/// The spawner of this process (a forked child needs its own: its parent's is
/// not there), with the `fork` generation it belongs to.
static SPAWNER: Mutex<Option<(usize, mpsc::Sender<Request>)>> = Mutex::new(None);

/// Starts a runtime thread named `name` that runs `body`, from the spawner.
///
/// # Errors
/// [`Error::UncleanStart`] if the spawner could not take the process's state;
/// [`Error::ThreadSpawn`] if the system refused a thread.
pub(crate) fn spawn(
    name: String,
    stack_size: Option<usize>,
    target: &str,
    body: impl FnOnce() + Send + 'static,
) -> Result<()> {
    let thread_spawn = |source| Error::ThreadSpawn {
        target: target.to_owned(),
        source,
    };
    let requests = match spawner().map_err(thread_spawn)? {
        Ok(requests) => requests,
        Err(detail) => return Err(Error::UncleanStart { detail }),
    };
    let (reply, answer) = mpsc::sync_channel(1);
    let request = Request {
        name,
        stack_size,
        body: Box::new(body),
        reply,
    };
    let gone = || thread_spawn(io::Error::other("the runtime's spawner thread is gone"));
    requests.send(request).map_err(|_| gone())?;
    answer.recv().map_err(|_| gone())?.map_err(thread_spawn)
}

/// The spawner of this process, started on first use; or, if it could not take
/// the process's state, why. (An unclean one is not kept: a later start from
/// another thread tries again.)
fn spawner() -> io::Result<std::result::Result<mpsc::Sender<Request>, String>> {
    let generation = super::fork::generation();
    let mut slot = SPAWNER.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((made_in, requests)) = slot.as_ref() {
        if *made_in == generation {
            return Ok(Ok(requests.clone()));
        }
    }
    let (requests, queue) = mpsc::channel::<Request>();
    let (ready, state) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("ns-spawner".into())
        .spawn(move || {
            let clean = take_process_state();
            let _ = ready.send(clean.clone());
            if clean.is_err() {
                return;
            }
            for request in queue {
                let mut builder = std::thread::Builder::new().name(request.name);
                if let Some(size) = request.stack_size {
                    builder = builder.stack_size(size);
                }
                let _ = request.reply.send(builder.spawn(request.body).map(drop));
            }
        })?;
    match state.recv() {
        Ok(Ok(())) => {
            *slot = Some((generation, requests.clone()));
            Ok(Ok(requests))
        }
        Ok(Err(detail)) => Ok(Err(detail)),
        Err(_) => Err(io::Error::other("the runtime's spawner thread died")),
    }
}

/// Puts the calling thread (the new spawner) in the process's own state, or says
/// what it cannot restore.
fn take_process_state() -> std::result::Result<(), String> {
    let ours = read_status("/proc/thread-self/status");
    let process = read_status("/proc/self/status");
    for field in ["CapEff", "CapPrm", "CapBnd"] {
        let (have, want) = (hex_field(&ours, field), hex_field(&process, field));
        if let (Some(have), Some(want)) = (have, want) {
            if want & !have != 0 {
                return Err(format!(
                    "the thread that first needed one had dropped capabilities the process has ({field} {:#x} missing); make the first call from a thread with the process's capabilities",
                    want & !have
                ));
            }
        }
    }
    for field in ["NoNewPrivs", "Seccomp"] {
        if field_value(&ours, field) != field_value(&process, field) {
            return Err(format!(
                "the thread that first needed one has another {field} setting than the process; make the first call from a thread without a seccomp filter or no_new_privs of its own"
            ));
        }
    }
    super::place::go_home_for_good()
        .map_err(|err| format!("it could not enter the process's own namespaces: {err}"))?;
    block_async_signals();
    use_process_cpus();
    Ok(())
}

fn read_status(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn field_value<'a>(status: &'a str, field: &str) -> Option<&'a str> {
    status.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        (name == field).then_some(value.trim())
    })
}

fn hex_field(status: &str, field: &str) -> Option<u64> {
    u64::from_str_radix(field_value(status, field)?, 16).ok()
}

/// Blocks every signal but those the kernel raises for the thread's own faults:
/// process-directed signals go to the application's threads, never to ours.
fn block_async_signals() {
    use nix::sys::signal::{SigSet, SigmaskHow, Signal};
    let mut set = SigSet::all();
    for synchronous in [
        Signal::SIGSEGV,
        Signal::SIGBUS,
        Signal::SIGFPE,
        Signal::SIGILL,
        Signal::SIGTRAP,
        Signal::SIGSYS,
        Signal::SIGABRT,
    ] {
        set.remove(synchronous);
    }
    let _ = nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&set), None);
}

/// The CPU set of the process (its main thread's), not of the thread that first
/// needed a runtime thread.
fn use_process_cpus() {
    let main = nix::unistd::Pid::this();
    if let Ok(cpus) = nix::sched::sched_getaffinity(main) {
        let _ = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &cpus);
    }
}
