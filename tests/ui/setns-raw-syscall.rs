use ns_runtime::{in_netns, NetNs};

#[in_netns(ns)]
fn f(ns: &NetNs, fd: i32) -> std::io::Result<()> {
    // SAFETY: only here to be rejected.
    unsafe { libc::syscall(libc::SYS_setns, fd, 0) };
    Ok(())
}

fn main() {
    let _ = f;
}
