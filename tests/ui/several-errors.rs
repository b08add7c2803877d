use ns_runtime::{in_netns, NetNs};

#[in_netns(ns, threads = 2)]
async fn f(ns: &NetNs, counter: std::rc::Rc<u8>) -> std::io::Result<()> {
    std::thread::spawn(|| ());
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)?;
    Ok(())
}

fn main() {
    let _ = f;
}
