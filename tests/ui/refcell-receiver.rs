use ns_runtime::{in_netns, NetNs};

struct Service {
    netns: NetNs,
    cache: std::cell::RefCell<Vec<u8>>,
}

impl Service {
    #[in_netns(&self.netns)]
    fn fill(&self) -> std::io::Result<usize> {
        self.cache.borrow_mut().push(1);
        Ok(self.cache.borrow().len())
    }
}

fn main() {
    let _ = Service::fill;
}
