use ns_runtime::{in_netns, NetNs};

pub struct Executor;

impl Executor {
    pub fn spawn(&self, job: impl FnOnce()) {
        job()
    }
}

#[in_netns(ns)]
fn f(ns: &NetNs, executor: &Executor) -> std::io::Result<()> {
    executor.spawn(|| ());
    Ok(())
}

fn main() {
    let _ = f;
}
