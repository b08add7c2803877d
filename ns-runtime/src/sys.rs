//! Thin, checked wrappers over the system calls on namespace files.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::error::{Error, Result};
use crate::kind::NsKind;

/// The identity of a namespace: device and inode of its nsfs file.
///
/// Inode numbers are reused once a namespace is freed, so an identity is only
/// meaningful while a reference (an fd, a thread inside) keeps the namespace alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct NsId {
    pub(crate) dev: u64,
    pub(crate) ino: u64,
}

/// Per-thread namespace files: `/proc/self` is the *main* thread, not the caller.
/// A static string: namespace threads check it before they sleep, and that must
/// not allocate.
pub(crate) fn thread_self_ns_path(kind: NsKind) -> &'static Path {
    Path::new(match kind {
        NsKind::Net => "/proc/thread-self/ns/net",
        NsKind::Uts => "/proc/thread-self/ns/uts",
        NsKind::Ipc => "/proc/thread-self/ns/ipc",
        NsKind::Mnt => "/proc/thread-self/ns/mnt",
        NsKind::Pid => "/proc/thread-self/ns/pid",
        NsKind::User => "/proc/thread-self/ns/user",
        NsKind::Cgroup => "/proc/thread-self/ns/cgroup",
        NsKind::Time => "/proc/thread-self/ns/time",
    })
}

// NS_GET_NSTYPE = _IO(0xb7, 0x3), from <linux/nsfs.h>.
nix::ioctl_none_bad!(ns_get_nstype, nix::request_code_none!(0xb7, 0x3));

/// An open namespace file whose kind has been checked.
#[derive(Debug)]
pub(crate) struct NsFile {
    pub(crate) fd: OwnedFd,
    pub(crate) id: NsId,
    pub(crate) kind: NsKind,
}

impl NsFile {
    /// Opens `path` and checks that it is a namespace (of kind `expected`, if given).
    pub(crate) fn open(path: &Path, expected: Option<NsKind>) -> Result<NsFile> {
        let file = File::options()
            .read(true)
            // A FIFO or a tty given by mistake must not block or become our terminal.
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
            .open(path)
            .map_err(|source| match source.kind() {
                io::ErrorKind::NotFound => Error::NotFound {
                    path: path.to_owned(),
                },
                _ => Error::syscall("open", path.display(), source),
            })?;
        let fd = OwnedFd::from(file);
        let kind = nstype(fd.as_fd()).map_err(|source| match source.raw_os_error() {
            Some(libc::ENOTTY) | Some(libc::EINVAL) => Error::NotANamespace {
                path: path.to_owned(),
            },
            _ => Error::syscall("ioctl(NS_GET_NSTYPE)", path.display(), source),
        })?;
        if let Some(expected) = expected.filter(|&expected| expected != kind) {
            return Err(Error::WrongKind {
                path: path.to_owned(),
                expected,
                found: kind,
            });
        }
        let id = identity(fd.as_fd()).map_err(|e| Error::syscall("fstat", path.display(), e))?;
        Ok(NsFile { fd, id, kind })
    }
}

/// The kind of the namespace behind `fd`.
fn nstype(fd: BorrowedFd<'_>) -> io::Result<NsKind> {
    // SAFETY: NS_GET_NSTYPE takes no argument and only reads the fd, which is open
    // for the duration of the call because we hold a borrow of it.
    let nstype = unsafe { ns_get_nstype(fd.as_raw_fd()) }.map_err(io::Error::from)?;
    NsKind::from_nstype(nstype).ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))
}

/// Device and inode of the file behind `fd`.
fn identity(fd: BorrowedFd<'_>) -> io::Result<NsId> {
    let stat = nix::sys::stat::fstat(fd).map_err(io::Error::from)?;
    Ok(NsId {
        dev: stat.st_dev,
        ino: stat.st_ino,
    })
}

/// Moves the *calling thread* into the namespace behind `fd`.
///
/// Only runtime threads call this, between bodies.
pub(crate) fn enter(fd: BorrowedFd<'_>, kind: NsKind) -> io::Result<()> {
    setns(fd, kind.clone_flag().bits())
}

/// A value only this process knows, passed in an argument register that `setns`
/// and `unshare` ignore: the seccomp filter of a sealed runtime thread lets
/// those calls through only with it (so the runtime's own moves work, and a
/// body's do not). It stops accidents, not attackers: a body can read memory.
pub(crate) fn seal_cookie() -> u64 {
    static COOKIE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *COOKIE.get_or_init(|| {
        let mut bytes = [0_u8; 8];
        // SAFETY: getrandom writes at most `len` bytes into the buffer we own.
        let got = unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), bytes.len(), 0) };
        let random = u64::from_ne_bytes(bytes);
        // Never a value a program passes by accident (0, small flags).
        if got == 8 && random > u64::from(u32::MAX) {
            random
        } else {
            0x6e73_7274_5f73_6561 ^ u64::from(std::process::id())
        }
    })
}

/// `setns(fd, nstype)` with the seal cookie in the third argument register.
pub(crate) fn setns(fd: BorrowedFd<'_>, nstype: i32) -> io::Result<()> {
    // SAFETY: setns reads two integer arguments; the third register is ignored by
    // the kernel (read only by a seccomp filter). No memory is passed.
    let rc = unsafe { libc::syscall(libc::SYS_setns, fd.as_raw_fd(), nstype, seal_cookie()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `socket(domain, kind | SOCK_CLOEXEC, protocol)` in the calling thread's network
/// namespace.
pub(crate) fn socket(domain: i32, kind: i32, protocol: i32) -> io::Result<OwnedFd> {
    // SAFETY: socket(2) takes three integers and passes no memory; the result is
    // checked below.
    let raw = unsafe { libc::socket(domain, kind | libc::SOCK_CLOEXEC, protocol) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a new, valid fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// `unshare(flags)` with the seal cookie in the second argument register.
pub(crate) fn unshare(flags: i32) -> io::Result<()> {
    // SAFETY: unshare reads one integer argument; the second register is ignored
    // by the kernel (read only by a seccomp filter). No memory is passed.
    let rc = unsafe { libc::syscall(libc::SYS_unshare, flags, seal_cookie()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Whether thread `tid` of process `pid` (the caller's own ids, passed in
/// because asking for them costs two system calls) shares the main thread's fd
/// table (`files`) or fs struct (cwd, root, umask), by `kcmp(2)`; `None` if the
/// kernel or a seccomp profile does not let us ask.
pub(crate) fn shares_with_main_thread(
    tid: libc::pid_t,
    pid: libc::pid_t,
    files: bool,
) -> Option<bool> {
    const KCMP_FILES: libc::c_int = 2;
    const KCMP_FS: libc::c_int = 3;
    let what = if files { KCMP_FILES } else { KCMP_FS };
    // SAFETY: kcmp compares kernel objects of two tasks by integer arguments; no
    // memory is passed.
    let rc = unsafe { libc::syscall(libc::SYS_kcmp, tid, pid, what, 0, 0) };
    match rc {
        0 => Some(true),
        1..=3 => Some(false),
        _ => None,
    }
}

/// `pidfd_open(pid, 0)`: an fd that refers to process `pid` (Linux 5.3), close-on-exec.
pub(crate) fn pidfd_open(pid: libc::pid_t) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1; it
    // touches no memory of ours.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a new descriptor that nothing else owns; an fd fits an i32.
    Ok(unsafe { std::os::fd::FromRawFd::from_raw_fd(fd as i32) })
}

/// Identity of the calling thread's namespace of `kind`.
pub(crate) fn current_thread_ns(kind: NsKind) -> Result<NsFile> {
    NsFile::open(thread_self_ns_path(kind), Some(kind))
}

/// Identity of the calling thread's namespace of `kind` (one `stat`, no fd).
pub(crate) fn thread_ns_id(kind: NsKind) -> io::Result<NsId> {
    let stat = nix::sys::stat::stat(thread_self_ns_path(kind)).map_err(io::Error::from)?;
    Ok(NsId {
        dev: stat.st_dev,
        ino: stat.st_ino,
    })
}
