//! Making new namespaces without moving the calling thread.

use std::io;

use nix::mount::{mount, MsFlags};

use crate::error::{Error, Result};
use crate::kind::NsKind;
use crate::sys::{self, NsFile};

/// Makes a new namespace of `kind` on a helper thread and returns it open, so the
/// calling thread stays where it is.
pub(crate) fn unshare_on_helper_thread(kind: NsKind) -> Result<NsFile> {
    let spawned = std::thread::Builder::new()
        .name("ns-create".into())
        .spawn(move || -> Result<NsFile> {
            // Ours, and about to sit in a namespace of its own: not a stray.
            let _registered = crate::registry::register(vec![(kind, None)]);
            nix::sched::unshare(kind.clone_flag()).map_err(|e| {
                Error::syscall(
                    "unshare",
                    format_args!("a new {kind} namespace"),
                    io::Error::from(e),
                )
            })?;
            if kind == NsKind::Mnt {
                make_mounts_private()?;
            }
            sys::current_thread_ns(kind)
        })
        .map_err(|source| Error::ThreadSpawn {
            target: format!("a new {kind} namespace"),
            source,
        })?;
    match spawned.join() {
        Ok(result) => result,
        Err(payload) => std::panic::resume_unwind(payload),
    }
}

/// In a new mount namespace: makes every mount private, so that mounts made inside
/// do not propagate to the namespace it was copied from (where `/` is usually
/// shared), and theirs do not come in.
fn make_mounts_private() -> Result<()> {
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| {
        Error::syscall(
            "mount(MS_REC|MS_PRIVATE)",
            "/ of a new mount namespace",
            e.into(),
        )
    })
}
