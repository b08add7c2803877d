use ns_runtime::{in_ns, NetNs};

#[in_ns(net = net, uts = "host")]
fn f(net: &NetNs) -> std::io::Result<()> {
    Ok(())
}

fn main() {
    let _ = f;
}
