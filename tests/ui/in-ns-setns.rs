//! Leaving the namespace under `#[in_ns]`: the advice names `#[in_ns]`.

use ns_runtime::{in_ns, NsSet};

#[in_ns(set)]
fn f(set: &NsSet, fd: std::os::fd::BorrowedFd<'_>) -> std::io::Result<()> {
    nix::sched::setns(fd, nix::sched::CloneFlags::CLONE_NEWNET)?;
    Ok(())
}

fn main() {
    let _ = f;
}
