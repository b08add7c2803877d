use ns_runtime::{in_netns, NetNs};

// Stands in for the async-std crate: the check reads paths, not types.
mod async_std {
    pub mod task {
        pub fn spawn<F>(_: F) {}
    }
}

#[in_netns(ns)]
fn f(ns: &NetNs) -> std::io::Result<()> {
    async_std::task::spawn(async {});
    Ok(())
}

fn main() {
    let _ = f;
}
