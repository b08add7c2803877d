//! Child processes in a handle's namespaces, every kind included: what
//! `nsenter --target PID --all` and `ip netns exec NAME` do, as a library call
//! that is safe in a multi-threaded, async program.
//!
//! # How a child gets in
//!
//! A thread of a multi-threaded process can join net, uts, ipc, cgroup and mnt
//! namespaces, but not a user (`EINVAL`) or time (`EUSERS`) one, and a pid
//! namespace only ever takes a thread's *children*. A forked child, which has
//! one thread, can join all of them but pid. So:
//!
//! - **Everything but pid is joined by the child itself**, in a `pthread_atfork`
//!   child handler: it runs in the new process as `fork` returns, before
//!   `Command` does anything (stdio, `uid`/`gid`, `chdir` to `current_dir`, the
//!   user's `pre_exec` hooks, `execvp` and its `PATH` search). All of those then
//!   happen inside, as if the child had been forked from a thread already there:
//!   a `current_dir` is resolved in the target mount namespace, and the user's
//!   hooks run after entering. (A `pre_exec` hook of ours could not do that: std
//!   runs hooks after `chdir` and in the order they were added, the user's
//!   first.) The handler acts only in a child of a thread that armed it (a
//!   thread-local pointer to the plan, set around the call to `spawn`): every
//!   other fork of the process passes through untouched. It makes only system
//!   calls, on fds and strings prepared before the fork: no allocation, no lock.
//! - **The order is `nsenter`'s**: every kind but user (cgroup, ipc, uts, net,
//!   mnt, time); then, if a user namespace is given, user, and whatever failed
//!   the first time again. Privileged callers enter the others from outside
//!   first; the owner of a user namespace who has no privileges outside enters
//!   it first and then the namespaces it owns. After joining a user namespace
//!   the child takes its uid and gid 0 and drops supplementary groups, as
//!   `nsenter` does (without `--preserve-credentials`); `Command::uid`, `gid`
//!   and `groups` apply after that, inside.
//! - **A pid namespace is joined by the thread that forks**: `setns(CLONE_NEWPID)`
//!   sets its `pid_for_children`, and afterwards it cannot create threads. No
//!   thread of the caller or of the runtime may be left like that, so a handle
//!   with a pid namespace is spawned from a helper thread of its own, born from
//!   the process's state (`spawn_clean_thread`) and never reused. The child gets
//!   the caller's signal mask and CPU set back (it would otherwise inherit the
//!   helper's, which blocks every signal). `PR_SET_PDEATHSIG` follows the
//!   *thread* that forked: the helper stays, parked on the child's pidfd, until
//!   the child exits, so a parent-death signal set in a hook fires when the
//!   process dies, not when the spawn returns. Without a pid namespace the
//!   child is forked by the calling thread, as `Command::spawn` does.
//! - **`posix_spawn` skips fork handlers**, and std uses it when it can: a
//!   `pre_exec` hook of ours (added to the `Command`; std cannot remove one)
//!   makes std fork, and checks in the child that the handler ran.
//!
//! # Errors
//! A step that fails in the child writes (step, errno) to a close-on-exec pipe
//! and `_exit`s. std's `spawn` then returns a child that never ran the program;
//! it is reaped here and the typed error returned instead: no zombie, no thread
//! (the helper ends), no fd (every fd here is close-on-exec and closed on return).

use std::cell::Cell;
use std::ffi::{CStr, CString, OsStr};
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::process::{Child, Command, ExitStatus, Output};
use std::sync::{mpsc, Arc, Once};

use libc::c_int;

use crate::error::{Error, Result};
use crate::kind::NsKind;
use crate::namespace::{Namespace, Origin};

/// The order in which `nsenter` enters namespaces (user and pid aside).
const NSENTER_ORDER: [NsKind; 6] = [
    NsKind::Cgroup,
    NsKind::Ipc,
    NsKind::Uts,
    NsKind::Net,
    NsKind::Mnt,
    NsKind::Time,
];

/// The steps of the child that can fail, as it reports them; 0 to 7 are `setns`
/// of the kind at that index of `NsKind::ALL`.
mod step {
    pub(super) const SETGROUPS: u32 = 16;
    pub(super) const SETGID: u32 = 17;
    pub(super) const SETUID: u32 = 18;
    pub(super) const UNSHARE_MNT: u32 = 19;
    pub(super) const RSLAVE: u32 = 20;
    pub(super) const SYSFS: u32 = 21;
    /// The `pre_exec` check found that the fork handler did not run.
    pub(super) const NOT_FORKED: u32 = 22;
}

/// One way of running a `Command`: spawn, output, status, tokio's spawn.
pub(crate) trait Launch: Send {
    /// What it gives.
    type Out: Send;
    /// The std command inside.
    fn command(&mut self) -> &mut Command;
    /// Runs it (in this thread; the fork handler is armed).
    fn run(&mut self) -> io::Result<Self::Out>;
    /// The pid of a child still running when `run` returns (a spawn), if any.
    fn live_child(out: &Self::Out) -> Option<u32>;
    /// Reaps a child that failed before it ran the program (exited already).
    fn discard(out: Self::Out);
}

/// `Command::spawn`.
pub(crate) struct Spawn<'a>(pub(crate) &'a mut Command);

impl Launch for Spawn<'_> {
    type Out = Child;
    fn command(&mut self) -> &mut Command {
        self.0
    }
    fn run(&mut self) -> io::Result<Child> {
        self.0.spawn()
    }
    fn live_child(child: &Child) -> Option<u32> {
        Some(child.id())
    }
    fn discard(mut child: Child) {
        let _ = child.wait();
    }
}

/// `Command::output` (std's defaults: stdout and stderr piped, stdin null,
/// unless the command says otherwise).
pub(crate) struct OutputOf<'a>(pub(crate) &'a mut Command);

impl Launch for OutputOf<'_> {
    type Out = Output;
    fn command(&mut self) -> &mut Command {
        self.0
    }
    fn run(&mut self) -> io::Result<Output> {
        self.0.output()
    }
    fn live_child(_: &Output) -> Option<u32> {
        None // reaped by `output`
    }
    fn discard(_: Output) {}
}

/// `Command::status`.
pub(crate) struct StatusOf<'a>(pub(crate) &'a mut Command);

impl Launch for StatusOf<'_> {
    type Out = ExitStatus;
    fn command(&mut self) -> &mut Command {
        self.0
    }
    fn run(&mut self) -> io::Result<ExitStatus> {
        self.0.status()
    }
    fn live_child(_: &ExitStatus) -> Option<u32> {
        None // reaped by `status`
    }
    fn discard(_: ExitStatus) {}
}

/// `tokio::process::Command::spawn`, in the caller's tokio runtime (entered on
/// the helper thread too).
#[cfg(feature = "tokio")]
pub(crate) struct SpawnTokio<'a> {
    pub(crate) command: &'a mut tokio::process::Command,
    pub(crate) runtime: Option<tokio::runtime::Handle>,
}

#[cfg(feature = "tokio")]
impl Launch for SpawnTokio<'_> {
    type Out = tokio::process::Child;
    fn command(&mut self) -> &mut Command {
        self.command.as_std_mut()
    }
    fn run(&mut self) -> io::Result<tokio::process::Child> {
        let _entered = self.runtime.as_ref().map(tokio::runtime::Handle::enter);
        self.command.spawn()
    }
    fn live_child(child: &tokio::process::Child) -> Option<u32> {
        child.id()
    }
    fn discard(mut child: tokio::process::Child) {
        // It has exited (or is about to: it wrote its report, then `_exit`).
        for _ in 0..1000 {
            match child.try_wait() {
                Ok(None) => std::thread::sleep(std::time::Duration::from_millis(1)),
                Ok(Some(_)) | Err(_) => return,
            }
        }
        // Still not reapable after a second: tokio's orphan queue reaps it.
    }
}

/// Starts `job` in `namespaces`, those of the handle displayed as `handle`.
pub(crate) fn launch<L: Launch>(
    namespaces: Vec<Arc<Namespace>>,
    handle: &(impl fmt::Display + ?Sized),
    mut job: L,
) -> Result<L::Out> {
    let plan = Plan::new(namespaces)?;
    // SAFETY: `check_entered` only reads two thread-locals and, if the fork
    // handler did not run, writes 8 bytes to an fd: async-signal-safe, no
    // allocation, as a hook that runs between `fork` and `exec` must be.
    unsafe { job.command().pre_exec(check_entered) };
    let outcome = match plan.pid {
        None => plan.run_armed(&mut job),
        Some(pid) => plan.run_on_helper(&plan.namespaces[pid], &mut job)?,
    };
    outcome.map_err(|failure| plan.error(failure, handle, job.command().get_program()))
}

/// What went wrong, before it is named.
enum Failure {
    /// A step of the child: (step, errno).
    Child(u32, c_int),
    /// `Command` itself (`fork`, `exec`, a hook, `wait`).
    Command(io::Error),
    /// The helper thread could not enter the pid namespace.
    Pid(io::Error),
}

/// Everything a launch needs, prepared before the fork.
struct Plan {
    namespaces: Vec<Arc<Namespace>>,
    /// The index of the pid namespace in `namespaces`, if any.
    pid: Option<usize>,
    child: ChildPlan,
    /// The read end of the child's report pipe (non-blocking).
    report: OwnedFd,
    /// The write end, whose number the child writes to.
    _report_write: OwnedFd,
}

impl Plan {
    fn new(namespaces: Vec<Arc<Namespace>>) -> Result<Plan> {
        let find = |kind: NsKind| namespaces.iter().position(|ns| ns.kind() == kind);
        let join = |kind: NsKind| {
            find(kind).map(|at| Join {
                fd: namespaces[at].file.fd.as_raw_fd(),
                nstype: kind.clone_flag().bits(),
                step: kind_index(kind),
            })
        };
        let others = NSENTER_ORDER.into_iter().filter_map(join).collect();
        let user = join(NsKind::User);
        let pid = find(NsKind::Pid);
        // `ip netns exec` semantics for a network namespace opened by name, unless
        // the handle names the mount namespace itself.
        let netns_exec = match find(NsKind::Mnt) {
            Some(_) => None,
            None => namespaces.iter().find_map(|ns| match &ns.origin {
                Origin::Named(name) if ns.kind() == NsKind::Net => NetnsExec::prepare(name),
                _ => None,
            }),
        };
        let (report, report_write) =
            report_pipe().map_err(|e| Error::syscall("pipe2", "a child's report pipe", e))?;
        // A helper thread forks the child: give it the caller's signal mask and
        // CPU set, which it would have had if this thread had forked it.
        let (sigmask, cpus) = match pid {
            Some(_) => (caller_sigmask(), caller_cpus()),
            None => (None, None),
        };
        Ok(Plan {
            child: ChildPlan {
                others,
                user,
                cookie: crate::sys::seal_cookie(),
                netns_exec,
                sigmask,
                cpus,
                report: report_write.as_raw_fd(),
            },
            namespaces,
            pid,
            report,
            _report_write: report_write,
        })
    }

    /// Runs `job` on this thread with the fork handler armed, then looks for the
    /// child's report.
    fn run_armed<L: Launch>(&self, job: &mut L) -> std::result::Result<L::Out, Failure> {
        let ran = {
            let _armed = Armed::new(&self.child);
            job.run()
        };
        match (self.child_report(), ran) {
            (Some(failed), Ok(out)) => {
                L::discard(out);
                Err(failed)
            }
            (Some(failed), Err(_)) => Err(failed),
            (None, Ok(out)) => Ok(out),
            (None, Err(err)) => Err(Failure::Command(err)),
        }
    }

    /// Runs `job` on a helper thread that entered the pid namespace `pid` first.
    fn run_on_helper<L: Launch>(
        &self,
        pid: &Namespace,
        job: &mut L,
    ) -> Result<std::result::Result<L::Out, Failure>> {
        type Answer<T> = std::thread::Result<std::result::Result<T, Failure>>;
        let (reply, answer) = mpsc::sync_channel::<Answer<L::Out>>(1);
        let lent = Lent {
            plan: self as *const Plan,
            job: job as *mut L,
            pid_fd: pid.file.fd.as_raw_fd(),
        };
        let body = move || {
            let lent = lent;
            let result = catch_unwind(AssertUnwindSafe(|| {
                // SAFETY: the caller lent these and blocks in `answer.recv()` below
                // until `reply` has sent (or was dropped, which happens only after
                // this closure returned or unwound); nothing touches them after
                // that. So they outlive every use, and nobody else uses them
                // meanwhile.
                let (plan, job) = unsafe { (&*lent.plan, &mut *lent.job) };
                // SAFETY: the fd belongs to a namespace that `plan` holds open.
                let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(lent.pid_fd) };
                crate::sys::enter(fd, NsKind::Pid).map_err(Failure::Pid)?;
                plan.run_armed(job)
            }));
            // Before replying: the child cannot be reaped (and its pid reused)
            // while the caller has not got it.
            let live = match &result {
                Ok(Ok(out)) => L::live_child(out).and_then(|pid| {
                    let pid = libc::pid_t::try_from(pid).ok()?;
                    crate::sys::pidfd_open(pid).ok()
                }),
                _ => None,
            };
            let _ = reply.send(result);
            // Nothing lent is touched from here on. PR_SET_PDEATHSIG of the child
            // follows this thread: stay until the child has exited.
            if let Some(pidfd) = live {
                wait_for_exit(pidfd.as_fd());
            }
        };
        let body: Box<dyn FnOnce() + Send + '_> = Box::new(body);
        // SAFETY: only the lifetime changes. What the body borrows (the plan and
        // the job, behind `lent`) is used only before it replies, and this thread
        // waits for that reply (or for the body to be dropped unrun, when no
        // thread could start) before it returns; after the reply, the body uses
        // only what it owns (the channel, the pidfd).
        let body: Box<dyn FnOnce() + Send + 'static> = unsafe { std::mem::transmute(body) };
        let target = pid.to_string();
        crate::runtime::spawn_clean_thread("ns-spawn".into(), None, &target, body)?;
        match answer.recv() {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(panic)) => resume_unwind(panic),
            Err(_) => Err(Error::ThreadSpawn {
                target,
                source: io::Error::other("the helper thread ended without an answer"),
            }),
        }
    }

    /// The child's report of a failed step, if it wrote one. It writes before it
    /// exits, and `Command` returns only once the child has exec'd or exited: so
    /// an empty pipe means no failure.
    fn child_report(&self) -> Option<Failure> {
        let mut bytes = [0_u8; 8];
        // SAFETY: reads at most 8 bytes into a buffer of 8 that we own, from an fd
        // that `self` holds open.
        let got = unsafe { libc::read(self.report.as_raw_fd(), bytes.as_mut_ptr().cast(), 8) };
        if got != 8 {
            return None;
        }
        let (step, errno) = bytes.split_at(4);
        let step = u32::from_ne_bytes(step.try_into().ok()?);
        let errno = c_int::from_ne_bytes(errno.try_into().ok()?);
        Some(Failure::Child(step, errno))
    }

    fn member(&self, kind: NsKind) -> Option<&Namespace> {
        self.namespaces
            .iter()
            .find(|ns| ns.kind() == kind)
            .map(|ns| &**ns)
    }

    /// Names a failure: which step, which namespace, which errno.
    fn error(
        &self,
        failure: Failure,
        handle: &(impl fmt::Display + ?Sized),
        program: &OsStr,
    ) -> Error {
        let spawn = |source| Error::Spawn {
            program: program.to_string_lossy().into_owned(),
            target: handle.to_string(),
            source,
        };
        let on = |kind: NsKind| -> String {
            match self.member(kind) {
                Some(ns) => ns.to_string(),
                None => handle.to_string(),
            }
        };
        match failure {
            Failure::Pid(source) => Error::syscall("setns", on(NsKind::Pid), source),
            // A pid namespace whose init has exited refuses new processes: `fork`
            // fails with ENOMEM (alloc_pid).
            Failure::Command(source)
                if self.pid.is_some() && source.raw_os_error() == Some(libc::ENOMEM) =>
            {
                Error::PidNamespaceGone {
                    target: on(NsKind::Pid),
                }
            }
            Failure::Command(source) => spawn(source),
            Failure::Child(step, errno) => {
                let source = io::Error::from_raw_os_error(errno);
                let call = match step {
                    step::SETGROUPS => "setgroups(0, NULL) after entering",
                    step::SETGID => "setgid(0) after entering",
                    step::SETUID => "setuid(0) after entering",
                    step::UNSHARE_MNT => "unshare(CLONE_NEWNS) for `ip netns exec`",
                    step::RSLAVE => "mount --make-rslave / for `ip netns exec`",
                    step::SYSFS => "mount sysfs on /sys for `ip netns exec`",
                    step::NOT_FORKED => {
                        return spawn(io::Error::new(
                            io::ErrorKind::Unsupported,
                            "the child was not made by fork(2), so it could not enter the namespaces (it never ran the program)",
                        ))
                    }
                    _ => "setns",
                };
                let kind = match step {
                    step::SETGROUPS | step::SETGID | step::SETUID => NsKind::User,
                    step::UNSHARE_MNT | step::RSLAVE | step::SYSFS => NsKind::Net,
                    _ => NsKind::ALL
                        .get(step as usize)
                        .copied()
                        .unwrap_or(NsKind::Net),
                };
                Error::syscall(call, on(kind), source)
            }
        }
    }
}

fn kind_index(kind: NsKind) -> u32 {
    NsKind::ALL.iter().position(|&k| k == kind).unwrap_or(0) as u32
}

/// What the caller lends the helper thread for one launch.
struct Lent<L> {
    plan: *const Plan,
    job: *mut L,
    pid_fd: RawFd,
}

// SAFETY: `Lent` carries a `&Plan` and a `&mut L` across one thread hand-off
// (see `run_on_helper`): `Plan` is Sync (fds, strings and plain data) and `L` is
// Send, so the thread may use them as the owner could.
unsafe impl<L: Send> Send for Lent<L> {}

/// A close-on-exec, non-blocking pipe: (read end, write end).
fn report_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as c_int; 2];
    // SAFETY: pipe2 writes two fds into the array we own.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both fds are new and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn caller_sigmask() -> Option<libc::sigset_t> {
    // SAFETY: an all-zero sigset_t is a valid (empty) set.
    let mut mask: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: with a null new set, pthread_sigmask only writes the current mask
    // into `mask`, which we own.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut mask) };
    (rc == 0).then_some(mask)
}

fn caller_cpus() -> Option<libc::cpu_set_t> {
    // SAFETY: an all-zero cpu_set_t is a valid (empty) set.
    let mut cpus: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: writes at most `size` bytes into `cpus`, which we own.
    let rc = unsafe { libc::sched_getaffinity(0, size, &mut cpus) };
    (rc == 0).then_some(cpus)
}

/// Blocks until the process behind `pidfd` has exited.
fn wait_for_exit(pidfd: std::os::fd::BorrowedFd<'_>) {
    let mut poll = libc::pollfd {
        fd: pidfd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        // SAFETY: polls one pollfd that we own.
        let rc = unsafe { libc::poll(&mut poll, 1, -1) };
        if rc >= 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return;
        }
    }
}

// ---------------------------------------------------------------------------
// The child's side. Everything below runs between `fork` and `exec` in a copy
// of a multi-threaded process: system calls only, no allocation, no lock.

/// One namespace for the child to join.
#[derive(Clone, Copy)]
struct Join {
    fd: RawFd,
    nstype: c_int,
    step: u32,
}

impl Join {
    fn enter(&self, cookie: u64) -> std::result::Result<(), (u32, c_int)> {
        // SAFETY: setns reads two integers (the third register is ignored by the
        // kernel, read by the seal filter only); the fd is held open by the plan.
        let rc = unsafe { libc::syscall(libc::SYS_setns, self.fd, self.nstype, cookie) };
        check(rc, self.step)
    }
}

/// The `errno` of the last failed call (no allocation for an OS error).
fn errno() -> c_int {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn check(rc: libc::c_long, step: u32) -> std::result::Result<(), (u32, c_int)> {
    if rc == 0 {
        Ok(())
    } else {
        Err((step, errno()))
    }
}

/// What the child does between `fork` and the `Command`'s own steps.
struct ChildPlan {
    /// Every member but user and pid, in `nsenter`'s order.
    others: Vec<Join>,
    user: Option<Join>,
    /// The seal cookie (see `sys::seal_cookie`), read before the fork.
    cookie: u64,
    netns_exec: Option<NetnsExec>,
    /// For a child forked by a helper thread: the caller's signal mask and CPU set.
    sigmask: Option<libc::sigset_t>,
    cpus: Option<libc::cpu_set_t>,
    /// Where a failed step is reported.
    report: RawFd,
}

impl ChildPlan {
    /// In the child: joins the namespaces, `nsenter`'s way.
    fn enter(&self) -> std::result::Result<(), (u32, c_int)> {
        match &self.user {
            None => {
                for join in &self.others {
                    join.enter(self.cookie)?;
                }
            }
            Some(user) => {
                // Dropping supplementary groups works outside with CAP_SETGID,
                // inside unless the user namespace denies setgroups: complain only
                // if both fail (as nsenter does).
                let groups_dropped = set_no_groups().is_ok();
                let mut failed = [false; NSENTER_ORDER.len()];
                for (join, failed) in self.others.iter().zip(&mut failed) {
                    *failed = join.enter(self.cookie).is_err();
                }
                user.enter(self.cookie)?;
                for (join, failed) in self.others.iter().zip(failed) {
                    if failed {
                        join.enter(self.cookie)?;
                    }
                }
                if !groups_dropped {
                    set_no_groups()?;
                }
                // SAFETY: setgid/setuid take an integer; raw calls change only this
                // (the only) thread, without the C library's all-threads signalling.
                check(unsafe { libc::syscall(libc::SYS_setgid, 0) }, step::SETGID)?;
                // SAFETY: as above.
                check(unsafe { libc::syscall(libc::SYS_setuid, 0) }, step::SETUID)?;
            }
        }
        if let Some(netns_exec) = &self.netns_exec {
            netns_exec.apply(self.cookie)?;
        }
        if let Some(mask) = &self.sigmask {
            // SAFETY: sets this thread's mask from a set we own; no memory written.
            unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, mask, std::ptr::null_mut()) };
        }
        if let Some(cpus) = &self.cpus {
            let size = std::mem::size_of::<libc::cpu_set_t>();
            // SAFETY: reads `size` bytes of a set we own. A failure (a CPU set the
            // cgroup no longer allows) leaves the helper's, which is the process's.
            unsafe { libc::sched_setaffinity(0, size, cpus) };
        }
        Ok(())
    }

    /// Writes (step, errno) for the parent to find.
    fn report(&self, step: u32, errno: c_int) {
        let mut bytes = [0_u8; 8];
        bytes[..4].copy_from_slice(&step.to_ne_bytes());
        bytes[4..].copy_from_slice(&errno.to_ne_bytes());
        // SAFETY: writes 8 bytes from a buffer we own to the report pipe, which is
        // open in this child (close-on-exec only). Atomic: less than PIPE_BUF.
        unsafe { libc::write(self.report, bytes.as_ptr().cast(), bytes.len()) };
    }
}

fn set_no_groups() -> std::result::Result<(), (u32, c_int)> {
    // SAFETY: setgroups with a count of 0 reads no memory.
    let rc = unsafe { libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>()) };
    check(rc, step::SETGROUPS)
}

/// What `ip netns exec NAME` does after entering the network namespace
/// (iproute2's `netns_switch` and `bind_etc`): a mount namespace of the child's
/// own, slave to the caller's, with `/sys` showing this namespace's devices and
/// every file of `/etc/netns/NAME/` bound over its `/etc` counterpart.
struct NetnsExec {
    /// The namespace's name: the source of its sysfs mount.
    name: CString,
    /// (`/etc/netns/NAME/FILE`, `/etc/FILE`), listed before the fork.
    binds: Vec<(CString, CString)>,
}

impl NetnsExec {
    fn prepare(name: &str) -> Option<NetnsExec> {
        let name_c = CString::new(name).ok()?;
        let mut binds = Vec::new();
        // iproute2 binds nothing for a name of NAME_MAX bytes or more.
        if name.len() < 255 {
            let dir = format!("/etc/netns/{name}");
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let file = entry.file_name();
                let mut etc = b"/etc/".to_vec();
                etc.extend_from_slice(file.as_bytes());
                let source = CString::new(entry.path().as_os_str().as_bytes());
                if let (Ok(source), Ok(etc)) = (source, CString::new(etc)) {
                    binds.push((source, etc));
                }
            }
        }
        Some(NetnsExec {
            name: name_c,
            binds,
        })
    }

    fn apply(&self, cookie: u64) -> std::result::Result<(), (u32, c_int)> {
        let none = std::ptr::null::<libc::c_void>();
        // SAFETY: unshare reads one integer (and the seal cookie register).
        let rc = unsafe { libc::syscall(libc::SYS_unshare, libc::CLONE_NEWNS, cookie) };
        check(rc, step::UNSHARE_MNT)?;
        // Don't let any mount propagate back to the caller's namespace.
        // SAFETY: every pointer is a NUL-terminated string we own, or null.
        let rc = unsafe {
            libc::mount(
                c"".as_ptr(),
                c"/".as_ptr(),
                c"none".as_ptr(),
                libc::MS_SLAVE | libc::MS_REC,
                none,
            )
        };
        check(rc.into(), step::RSLAVE)?;
        let sys: &CStr = c"/sys";
        let mut flags = 0;
        // SAFETY: a NUL-terminated path we own.
        if unsafe { libc::umount2(sys.as_ptr(), libc::MNT_DETACH) } != 0 {
            // Not unmounted: mount over it, read-only if it is (a read-only sysfs
            // cannot be shadowed by a writable one).
            // (statfs64, a plain system call, where iproute2 uses statvfs.)
            // SAFETY: an all-zero statfs64 is valid; statfs64 writes into it.
            let mut fs: libc::statfs64 = unsafe { std::mem::zeroed() };
            // SAFETY: a NUL-terminated path and a struct we own.
            if unsafe { libc::statfs64(sys.as_ptr(), &mut fs) } == 0
                && fs.f_flags as libc::c_ulong & libc::ST_RDONLY != 0
            {
                flags = libc::MS_RDONLY;
            }
        }
        // SAFETY: NUL-terminated strings we own, and a null data pointer.
        let rc = unsafe {
            libc::mount(
                self.name.as_ptr(),
                sys.as_ptr(),
                c"sysfs".as_ptr(),
                flags,
                none,
            )
        };
        check(rc.into(), step::SYSFS)?;
        for (source, etc) in &self.binds {
            // A failed bind is not fatal, as in iproute2 (which prints a warning).
            // SAFETY: NUL-terminated strings we own, and a null data pointer.
            unsafe {
                libc::mount(
                    source.as_ptr(),
                    etc.as_ptr(),
                    c"none".as_ptr(),
                    libc::MS_BIND,
                    none,
                )
            };
        }
        Ok(())
    }
}

thread_local! {
    /// The plan of the launch this thread is making, while it makes it.
    static ARMED: Cell<*const ChildPlan> = const { Cell::new(std::ptr::null()) };
    /// In a child: whether the fork handler has entered its namespaces.
    static ENTERED: Cell<bool> = const { Cell::new(false) };
}

/// The fork handler armed on this thread with a plan, until dropped.
struct Armed;

impl Armed {
    fn new(plan: &ChildPlan) -> Armed {
        static HANDLER: Once = Once::new();
        HANDLER.call_once(|| {
            // SAFETY: registers a child handler with no preconditions;
            // pthread_atfork copies the pointers and has no other effect.
            let _ = unsafe { libc::pthread_atfork(None, None, Some(enter_after_fork)) };
        });
        ENTERED.set(false);
        ARMED.set(plan);
        Armed
    }
}

impl Drop for Armed {
    fn drop(&mut self) {
        ARMED.set(std::ptr::null());
    }
}

/// The fork child handler: in a child of an armed thread, joins the plan's
/// namespaces, or reports the failed step and exits.
extern "C" fn enter_after_fork() {
    let plan = ARMED.get();
    if plan.is_null() || ENTERED.get() {
        return; // a fork of another thread, or a fork inside a hook of ours
    }
    ENTERED.set(true);
    // SAFETY: the thread that forked armed this pointer from a plan it keeps
    // alive until after the fork returned; this process has a copy of its memory.
    let plan = unsafe { &*plan };
    if let Err((step, errno)) = plan.enter() {
        plan.report(step, errno);
        // SAFETY: ends the child at once, without running anything of the parent's
        // (no atexit handlers, no destructors, no flush of copied buffers).
        unsafe { libc::_exit(127) };
    }
}

/// The `pre_exec` hook: in a child of an armed thread, fails if the fork
/// handler did not run (a `posix_spawn`, `vfork` or `clone3` skips it), so that
/// a program never runs outside the namespaces it was started for.
fn check_entered() -> io::Result<()> {
    let plan = ARMED.get();
    if plan.is_null() || ENTERED.get() {
        return Ok(());
    }
    // SAFETY: as in `enter_after_fork`.
    unsafe { &*plan }.report(step::NOT_FORKED, 0);
    Err(io::Error::from_raw_os_error(libc::ENOTSUP))
}
