//! An open namespace shared by handles and by the pool of threads that live in it.

use std::fmt;
use std::path::PathBuf;

use crate::kind::NsKind;
use crate::sys::{NsFile, NsId};

/// Where a handle came from, for messages and `Debug`.
#[derive(Debug, Clone)]
pub(crate) enum Origin {
    Path(PathBuf),
    Named(String),
    Pid(u32),
    Thread,
    Anonymous,
}

/// An open namespace file together with where it came from.
///
/// Holding one keeps the namespace alive, which is what makes its [`NsId`] valid.
pub(crate) struct Namespace {
    pub(crate) file: NsFile,
    pub(crate) origin: Origin,
}

impl Namespace {
    pub(crate) fn id(&self) -> NsId {
        self.file.id
    }

    pub(crate) fn kind(&self) -> NsKind {
        self.file.kind
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.kind();
        match &self.origin {
            Origin::Path(path) => write!(f, "{kind} namespace {}", path.display())?,
            Origin::Named(name) => write!(f, "{kind} namespace {name:?}")?,
            Origin::Pid(pid) => write!(f, "{kind} namespace of pid {pid}")?,
            Origin::Thread => write!(f, "{kind} namespace of a thread")?,
            Origin::Anonymous => write!(f, "anonymous {kind} namespace")?,
        }
        write!(f, " (inode {})", self.file.id.ino)
    }
}

impl fmt::Debug for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Namespace");
        self.origin.debug_field(&mut s);
        s.field("kind", &self.kind())
            .field("inode", &self.file.id.ino)
            .finish()
    }
}

impl Origin {
    /// A path that names the namespace of `kind` this came from, for messages.
    pub(crate) fn path(&self, kind: NsKind) -> PathBuf {
        match self {
            Origin::Path(path) => path.clone(),
            Origin::Named(name) => PathBuf::from(crate::name::NETNS_RUN_DIR).join(name),
            Origin::Pid(pid) => PathBuf::from(format!("/proc/{pid}/ns/{kind}")),
            Origin::Thread => PathBuf::from(format!("/proc/thread-self/ns/{kind}")),
            Origin::Anonymous => PathBuf::from(format!("(an anonymous {kind} namespace)")),
        }
    }

    /// Adds the one field that says where a handle came from.
    pub(crate) fn debug_field(&self, s: &mut fmt::DebugStruct<'_, '_>) {
        match self {
            Origin::Path(path) => s.field("path", path),
            Origin::Named(name) => s.field("name", name),
            Origin::Pid(pid) => s.field("pid", pid),
            Origin::Thread => s.field("origin", &"a thread's"),
            Origin::Anonymous => s.field("origin", &"anonymous"),
        };
    }
}
