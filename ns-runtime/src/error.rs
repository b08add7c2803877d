//! The one error type of this crate.

use std::io;
use std::path::PathBuf;

use crate::kind::NsKind;

/// What went wrong while opening, creating, removing or entering a namespace.
///
/// Every variant carries what a user needs to act on it: the path or name, the
/// namespace's inode, the system call and the OS error. `Error` converts into
/// [`std::io::Error`] with a fitting [`io::ErrorKind`], so functions that return
/// `std::io::Result` can use `?` on it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Nothing exists at the path of a namespace file.
    #[error("no namespace file at {}", path.display())]
    NotFound {
        /// The path that was opened.
        path: PathBuf,
    },

    /// The file exists but is not a namespace file (a regular file, a directory, ...).
    #[error("{} is not a namespace file (expected an nsfs file such as /proc/PID/ns/net or /run/netns/NAME)", path.display())]
    NotANamespace {
        /// The path that was opened.
        path: PathBuf,
    },

    /// A name under `/run/netns` is a symbolic link: refused, because removing it
    /// as a namespace would unmount whatever it points to.
    #[error("{} is a symbolic link, not a named namespace: refused (remove the link itself if it is stale)", path.display())]
    Symlink {
        /// The path of the link.
        path: PathBuf,
    },

    /// The file is a namespace of another kind than the one asked for.
    #[error("{} is a {found} namespace, not a {expected} namespace", path.display())]
    WrongKind {
        /// The path that was opened.
        path: PathBuf,
        /// The kind that was asked for.
        expected: NsKind,
        /// The kind the file really is.
        found: NsKind,
    },

    /// A namespace name that cannot be a file name under `/run/netns`.
    #[error("invalid namespace name {name:?}: {reason}")]
    InvalidName {
        /// The name as given.
        name: String,
        /// Why it was refused.
        reason: &'static str,
    },

    /// A named namespace of that name exists already.
    #[error("a namespace named {name:?} already exists at {}", path.display())]
    AlreadyExists {
        /// The name as given.
        name: String,
        /// Where it lives.
        path: PathBuf,
    },

    /// The kernel refused an operation for lack of privileges.
    #[error("{call} on {target} was refused: {source}; namespace operations need CAP_SYS_ADMIN (run as root, or grant the capability to the program)")]
    PermissionDenied {
        /// The system call that was refused.
        call: &'static str,
        /// What it was applied to (a path, or a namespace with its inode).
        target: String,
        /// The OS error (`EPERM` or `EACCES`).
        #[source]
        source: io::Error,
    },

    /// A system call failed for another reason.
    #[error("{call} on {target} failed: {source}")]
    Syscall {
        /// The system call that failed.
        call: &'static str,
        /// What it was applied to (a path, or a namespace with its inode).
        target: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },

    /// A namespace thread could not be started.
    #[error("could not start a thread for {target}: {source}")]
    ThreadSpawn {
        /// The namespace the thread was for.
        target: String,
        /// Why the thread could not be created.
        #[source]
        source: io::Error,
    },

    /// Runtime threads are born from the process's own state (namespaces,
    /// capabilities, signal mask, CPU set), and the thread that first needed one
    /// had something the runtime cannot restore.
    #[error("runtime threads cannot start from the process's own state: {detail}")]
    UncleanStart {
        /// What could not be restored, and what to do.
        detail: String,
    },

    /// A thread of a multi-threaded process cannot join a namespace of this kind.
    #[error("a namespace thread cannot join a {kind} namespace: {reason}")]
    NotJoinable {
        /// The kind (user, pid or time).
        kind: NsKind,
        /// Why, and what to do instead.
        reason: &'static str,
    },

    /// A namespace set was given two namespaces of one kind.
    #[error("a namespace set can hold one {kind} namespace, not two")]
    DuplicateKind {
        /// The kind given twice.
        kind: NsKind,
    },

    /// A namespace set was given no namespace.
    #[error("a namespace set needs at least one namespace")]
    EmptySet,

    /// An operation needs a namespace of a kind the handle does not include.
    #[error("{target} includes no {kind} namespace, which this needs")]
    MissingKind {
        /// The handle or set.
        target: String,
        /// The kind it lacks.
        kind: NsKind,
    },

    /// A child process could not be started, after its namespaces were entered
    /// (the program was not found or not executable, a `current_dir` that does
    /// not exist inside, a `pre_exec` hook that failed, ...) or before (no
    /// process could be forked).
    #[error("could not start {program} in {target}: {source}")]
    Spawn {
        /// The program, as given to the `Command`.
        program: String,
        /// The namespaces it was to start in.
        target: String,
        /// What `Command::spawn` reported.
        #[source]
        source: io::Error,
    },

    /// A pid namespace lets no process in any more: its init process (pid 1
    /// there) has exited, and the kernel refuses new ones (`fork` gives `ENOMEM`).
    #[error("cannot start a process in {target}: its init process (pid 1 there) has exited, and the kernel lets no new process into it")]
    PidNamespaceGone {
        /// The pid namespace.
        target: String,
    },

    /// The namespace thread running an async call stopped before the call finished
    /// (it could not hand the call on, or its runtime shut down).
    #[error("the namespace thread of {target} stopped before the call finished")]
    Abandoned {
        /// The namespace the call was for.
        target: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The error for a failed system call, typed by its errno: `EPERM`/`EACCES`
    /// become [`Error::PermissionDenied`], everything else [`Error::Syscall`].
    pub(crate) fn syscall(call: &'static str, target: impl ToString, source: io::Error) -> Error {
        let target = target.to_string();
        match source.raw_os_error() {
            Some(libc::EPERM) | Some(libc::EACCES) => Error::PermissionDenied {
                call,
                target,
                source,
            },
            _ => Error::Syscall {
                call,
                target,
                source,
            },
        }
    }

    /// The error for using a namespace of a kind no thread of ours can join.
    pub(crate) fn not_joinable(kind: NsKind) -> Error {
        let reason = match kind {
            NsKind::User => "only a single-threaded process may join a user namespace (setns gives EINVAL); start a child process in it instead: `spawn`, `output` or `status` of the handle (trait `Namespaces`)",
            NsKind::Pid => "setns on a pid namespace changes only the namespace of the thread's future children, and afterwards the thread cannot create threads; start a child process in it instead: `spawn`, `output` or `status` of the handle (trait `Namespaces`)",
            NsKind::Time => "the kernel refuses it for a thread of a multi-threaded process (EUSERS); a time namespace applies to whole processes: start a child process in it instead: `spawn`, `output` or `status` of the handle (trait `Namespaces`)",
            _ => "this kind cannot be entered by a namespace thread",
        };
        Error::NotJoinable { kind, reason }
    }

    /// The same error again, for each of several callers that one failure affects.
    /// (`io::Error` is not `Clone`: OS errors are rebuilt from their errno, others
    /// from their kind and message.)
    pub(crate) fn replicate(&self) -> Error {
        fn io(err: &io::Error) -> io::Error {
            match err.raw_os_error() {
                Some(errno) => io::Error::from_raw_os_error(errno),
                None => io::Error::new(err.kind(), err.to_string()),
            }
        }
        match self {
            Error::NotFound { path } => Error::NotFound { path: path.clone() },
            Error::NotANamespace { path } => Error::NotANamespace { path: path.clone() },
            Error::Symlink { path } => Error::Symlink { path: path.clone() },
            Error::WrongKind {
                path,
                expected,
                found,
            } => Error::WrongKind {
                path: path.clone(),
                expected: *expected,
                found: *found,
            },
            Error::InvalidName { name, reason } => Error::InvalidName {
                name: name.clone(),
                reason,
            },
            Error::AlreadyExists { name, path } => Error::AlreadyExists {
                name: name.clone(),
                path: path.clone(),
            },
            Error::PermissionDenied {
                call,
                target,
                source,
            } => Error::PermissionDenied {
                call,
                target: target.clone(),
                source: io(source),
            },
            Error::Syscall {
                call,
                target,
                source,
            } => Error::Syscall {
                call,
                target: target.clone(),
                source: io(source),
            },
            Error::ThreadSpawn { target, source } => Error::ThreadSpawn {
                target: target.clone(),
                source: io(source),
            },
            Error::Abandoned { target } => Error::Abandoned {
                target: target.clone(),
            },
            Error::UncleanStart { detail } => Error::UncleanStart {
                detail: detail.clone(),
            },
            Error::NotJoinable { kind, reason } => Error::NotJoinable {
                kind: *kind,
                reason,
            },
            Error::DuplicateKind { kind } => Error::DuplicateKind { kind: *kind },
            Error::EmptySet => Error::EmptySet,
            Error::MissingKind { target, kind } => Error::MissingKind {
                target: target.clone(),
                kind: *kind,
            },
            Error::Spawn {
                program,
                target,
                source,
            } => Error::Spawn {
                program: program.clone(),
                target: target.clone(),
                source: io(source),
            },
            Error::PidNamespaceGone { target } => Error::PidNamespaceGone {
                target: target.clone(),
            },
        }
    }

    /// The [`io::ErrorKind`] this error converts to.
    pub fn io_kind(&self) -> io::ErrorKind {
        match self {
            Error::NotFound { .. } | Error::PidNamespaceGone { .. } => io::ErrorKind::NotFound,
            Error::NotANamespace { .. }
            | Error::Symlink { .. }
            | Error::WrongKind { .. }
            | Error::InvalidName { .. } => io::ErrorKind::InvalidInput,
            Error::AlreadyExists { .. } => io::ErrorKind::AlreadyExists,
            Error::PermissionDenied { .. } => io::ErrorKind::PermissionDenied,
            Error::Syscall { source, .. }
            | Error::ThreadSpawn { source, .. }
            | Error::Spawn { source, .. } => source.kind(),
            Error::Abandoned { .. } | Error::UncleanStart { .. } => io::ErrorKind::Other,
            Error::NotJoinable { .. } => io::ErrorKind::Unsupported,
            Error::DuplicateKind { .. } | Error::EmptySet | Error::MissingKind { .. } => {
                io::ErrorKind::InvalidInput
            }
        }
    }
}

impl From<Error> for io::Error {
    fn from(err: Error) -> io::Error {
        io::Error::new(err.io_kind(), err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eperm_and_eacces_are_permission_denied() {
        for errno in [libc::EPERM, libc::EACCES] {
            let err = Error::syscall("setns", "x", io::Error::from_raw_os_error(errno));
            assert!(matches!(err, Error::PermissionDenied { .. }), "{err:?}");
            assert_eq!(io::Error::from(err).kind(), io::ErrorKind::PermissionDenied);
        }
    }

    #[test]
    fn other_errnos_keep_their_io_kind() {
        let err = Error::syscall("mount", "x", io::Error::from_raw_os_error(libc::EEXIST));
        assert!(matches!(err, Error::Syscall { .. }));
        assert_eq!(err.io_kind(), io::ErrorKind::AlreadyExists);
    }

    #[test]
    fn io_error_keeps_the_typed_error_inside() {
        let io_err = io::Error::from(Error::InvalidName {
            name: "a/b".into(),
            reason: "contains '/'",
        });
        assert_eq!(io_err.kind(), io::ErrorKind::InvalidInput);
        let inner = io_err.get_ref().and_then(|e| e.downcast_ref::<Error>());
        assert!(matches!(inner, Some(Error::InvalidName { .. })));
    }

    #[test]
    fn permission_message_says_what_to_do() {
        let err = Error::syscall("setns", "ns", io::Error::from_raw_os_error(libc::EPERM));
        assert!(err.to_string().contains("CAP_SYS_ADMIN"), "{err}");
    }
}
