use ns_runtime::{in_ns, NetNs, Ns};

#[in_ns(net = net, user = user)]
fn f(net: &NetNs, user: &Ns) -> std::io::Result<()> {
    Ok(())
}

fn main() {
    let _ = f;
}
