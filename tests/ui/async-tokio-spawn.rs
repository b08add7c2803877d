use ns_runtime::{in_netns, NetNs};

#[in_netns(ns)]
async fn serve(ns: &NetNs) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    tokio::spawn(async move {
        let _ = listener.accept().await;
    });
    tokio::task::spawn_local(async {});
    Ok(())
}

fn main() {
    let _ = serve;
}
