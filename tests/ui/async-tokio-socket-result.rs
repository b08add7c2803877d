use ns_runtime::{in_netns, NetNs};

#[in_netns(ns)]
async fn listen(ns: &NetNs) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind("127.0.0.1:0").await
}

fn main() {
    let _ = listen;
}
