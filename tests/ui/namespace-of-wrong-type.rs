use ns_runtime::in_netns;

#[in_netns(port)]
fn f(port: u16) -> std::io::Result<()> {
    Ok(())
}

fn main() {
    let _ = f;
}
