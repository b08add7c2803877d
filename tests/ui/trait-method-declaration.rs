use ns_runtime::in_netns;

trait Probe {
    #[in_netns(&self.netns)]
    fn probe(&self) -> std::io::Result<()>;
}

fn main() {
    let _ = <() as Probe>::probe;
}

impl Probe for () {
    fn probe(&self) -> std::io::Result<()> {
        Ok(())
    }
}
