//! A form the rewrite cannot support, under `#[in_ns]`: the message names
//! `#[in_ns]`, the attribute written.

use ns_runtime::{in_ns, NsSet};

#[in_ns(set)]
const fn f(set: &NsSet) -> std::io::Result<()> {
    Ok(())
}

fn main() {
    let _ = f;
}
