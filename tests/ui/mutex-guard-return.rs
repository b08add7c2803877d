use ns_runtime::{in_netns, NetNs};

#[in_netns(ns)]
fn f<'a>(ns: &NetNs, lock: &'a std::sync::Mutex<u8>) -> std::io::Result<std::sync::MutexGuard<'a, u8>> {
    Ok(lock.lock().unwrap())
}

fn main() {
    let _ = f;
}
