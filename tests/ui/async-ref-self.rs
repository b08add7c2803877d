use ns_runtime::{in_netns, NetNs};

struct Service {
    netns: NetNs,
}

impl Service {
    #[in_netns(&self.netns)]
    async fn interfaces(&self) -> std::io::Result<String> {
        std::fs::read_to_string("/proc/thread-self/net/dev")
    }
}

fn main() {
    let _ = Service::interfaces;
}
