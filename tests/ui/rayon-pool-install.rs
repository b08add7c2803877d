use ns_runtime::{in_netns, NetNs};

#[in_netns(ns)]
fn f(ns: &NetNs, pool: &rayon::ThreadPool) -> std::io::Result<i32> {
    Ok(pool.install(|| 1))
}

fn main() {
    let _ = f;
}
