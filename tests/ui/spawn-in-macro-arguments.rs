use ns_runtime::{in_netns, NetNs};

#[in_netns(ns)]
fn f(ns: &NetNs) -> std::io::Result<()> {
    let handles = vec![std::thread::spawn(|| ())];
    println!("{:?}", rayon::join(|| 1, || 2));
    assert!(tokio::task::spawn_blocking(|| ()).is_finished());
    drop(handles);
    Ok(())
}

fn main() {
    let _ = f;
}
