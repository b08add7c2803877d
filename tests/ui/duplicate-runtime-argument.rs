use ns_runtime::{in_ns, NsSet, Runtime};

#[in_ns(set, runtime = a, runtime = b)]
fn f(set: &NsSet, a: &Runtime, b: &Runtime) -> std::io::Result<()> {
    Ok(())
}

fn main() {
    let _ = f;
}
