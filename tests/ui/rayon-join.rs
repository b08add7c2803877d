use ns_runtime::{in_netns, NetNs};

#[in_netns(ns)]
fn f(ns: &NetNs) -> std::io::Result<i32> {
    let (a, b) = rayon::join(|| 1, || 2);
    Ok(a + b)
}

fn main() {
    let _ = f;
}
