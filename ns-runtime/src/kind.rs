//! The kinds of Linux namespaces.

use std::fmt;

use nix::sched::CloneFlags;

/// A kind of Linux namespace, as named under `/proc/PID/ns/`.
///
/// Only some kinds can be the home of a namespace thread (see
/// [`NsKind::thread_joinable`]); the others are reported with a typed error when a
/// handle of that kind is opened where a network namespace is expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NsKind {
    /// Network namespace (`CLONE_NEWNET`).
    Net,
    /// UTS namespace: hostname and domain name (`CLONE_NEWUTS`).
    Uts,
    /// System V IPC and POSIX message queues (`CLONE_NEWIPC`).
    Ipc,
    /// Mount namespace (`CLONE_NEWNS`).
    Mnt,
    /// PID namespace (`CLONE_NEWPID`).
    Pid,
    /// User namespace (`CLONE_NEWUSER`).
    User,
    /// Cgroup namespace (`CLONE_NEWCGROUP`).
    Cgroup,
    /// Time namespace (`CLONE_NEWTIME`).
    Time,
}

impl NsKind {
    /// All kinds, in the order the kernel lists them.
    pub const ALL: [NsKind; 8] = [
        NsKind::Net,
        NsKind::Uts,
        NsKind::Ipc,
        NsKind::Mnt,
        NsKind::Pid,
        NsKind::User,
        NsKind::Cgroup,
        NsKind::Time,
    ];

    /// The name of this kind's file under `/proc/PID/ns/` (`"net"`, `"mnt"`, ...).
    pub fn proc_name(self) -> &'static str {
        match self {
            NsKind::Net => "net",
            NsKind::Uts => "uts",
            NsKind::Ipc => "ipc",
            NsKind::Mnt => "mnt",
            NsKind::Pid => "pid",
            NsKind::User => "user",
            NsKind::Cgroup => "cgroup",
            NsKind::Time => "time",
        }
    }

    /// The `CLONE_NEW*` flag of this kind.
    pub fn clone_flag(self) -> CloneFlags {
        match self {
            NsKind::Net => CloneFlags::CLONE_NEWNET,
            NsKind::Uts => CloneFlags::CLONE_NEWUTS,
            NsKind::Ipc => CloneFlags::CLONE_NEWIPC,
            NsKind::Mnt => CloneFlags::CLONE_NEWNS,
            NsKind::Pid => CloneFlags::CLONE_NEWPID,
            NsKind::User => CloneFlags::CLONE_NEWUSER,
            NsKind::Cgroup => CloneFlags::CLONE_NEWCGROUP,
            // nix has no constant for it on every target; the value is fixed by the kernel ABI.
            NsKind::Time => CloneFlags::from_bits_retain(0x80),
        }
    }

    /// Whether one thread of a multi-threaded process can enter a namespace of this
    /// kind and stay there, which is what a namespace thread does.
    ///
    /// User namespaces refuse threads of multi-threaded processes (`EINVAL`), a pid
    /// namespace only changes the thread's future children and then breaks thread
    /// creation on it, and time namespaces refuse `setns` from threads (`EUSERS`).
    pub fn thread_joinable(self) -> bool {
        matches!(
            self,
            NsKind::Net | NsKind::Uts | NsKind::Ipc | NsKind::Mnt | NsKind::Cgroup
        )
    }

    /// The kind whose `CLONE_NEW*` value is `nstype`, as returned by the
    /// `NS_GET_NSTYPE` ioctl.
    pub(crate) fn from_nstype(nstype: i32) -> Option<NsKind> {
        NsKind::ALL
            .into_iter()
            .find(|kind| kind.clone_flag().bits() == nstype)
    }
}

impl fmt::Display for NsKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.proc_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nstype_round_trips_for_every_kind() {
        for kind in NsKind::ALL {
            assert_eq!(NsKind::from_nstype(kind.clone_flag().bits()), Some(kind));
        }
        assert_eq!(NsKind::from_nstype(0), None);
    }

    #[test]
    fn only_thread_joinable_kinds_are_joinable() {
        let joinable: Vec<_> = NsKind::ALL
            .into_iter()
            .filter(|k| k.thread_joinable())
            .collect();
        assert_eq!(
            joinable,
            [
                NsKind::Net,
                NsKind::Uts,
                NsKind::Ipc,
                NsKind::Mnt,
                NsKind::Cgroup
            ]
        );
    }
}
