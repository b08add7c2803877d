//! Async calls: `NetNs::run_async` and `#[in_netns] async fn` from tokio and from a
//! bare executor, their cancellation and panics, many bodies on one thread, the
//! runtime's own threads never moving, and sockets made inside and used outside.

#[macro_use]
mod common;

use std::collections::HashSet;
use std::future::Future;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use common::{assert_threads_where_they_belong, host_net_inode, tasks, threads_in, TestNs};
use ns_runtime::{in_netns, NetNs, Runtime};

/// The network namespace inode of the calling thread, read from procfs.
fn inode_here() -> io::Result<u64> {
    Ok(NetNs::current()?.inode())
}

#[in_netns(ns)]
async fn inode_inside_after(ns: &NetNs, delay: Duration) -> io::Result<u64> {
    tokio::time::sleep(delay).await;
    // The body may use the namespace parameter as written.
    assert!(ns.inode() > 0);
    inode_here()
}

/// A service that owns its namespace handle and calls into it from async methods.
struct Service {
    netns: NetNs,
    calls: AtomicUsize,
}

impl Service {
    #[in_netns(self.netns)]
    async fn inode(self: Arc<Self>) -> io::Result<u64> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        inode_here()
    }
}

/// Polls `future` to completion on the calling thread: an executor that is not
/// tokio, to show that the call futures work on any.
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::park();
    }
}

fn tokio_multi_thread(tids: Arc<Mutex<HashSet<u32>>>) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .on_thread_start(move || {
            let tid = nix::unistd::gettid().as_raw() as u32;
            tids.lock().unwrap().insert(tid);
        })
        .build()
        .expect("tokio runtime")
}

fn bodies_run_inside_from_any_executor_and_need_not_be_send() {
    require_root!();
    let ns = NetNs::create().unwrap();
    let host = host_net_inode();
    let inside = block_on(ns.run_async(|| async {
        // Not `Send`, held across an await: fine on the namespace thread.
        let local = Rc::new(inode_here());
        tokio::time::sleep(Duration::from_millis(5)).await;
        Rc::try_unwrap(local).unwrap()
    }))
    .unwrap()
    .unwrap();
    assert_eq!(inside, ns.inode());
    assert_eq!(
        block_on(inode_inside_after(&ns, Duration::ZERO)).unwrap(),
        ns.inode()
    );
    let service = Arc::new(Service {
        netns: ns.clone(),
        calls: AtomicUsize::new(0),
    });
    assert_eq!(block_on(Arc::clone(&service).inode()).unwrap(), ns.inode());
    assert_eq!(service.calls.load(Ordering::Relaxed), 1);
    assert_eq!(common::thread_net_inode(), host);
    assert_threads_where_they_belong();
}

fn a_call_future_does_nothing_until_polled() {
    require_root!();
    let ns = NetNs::create().unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&ran);
    let call = ns.run_async(move || async move { flag.store(true, Ordering::SeqCst) });
    std::thread::sleep(Duration::from_millis(50));
    assert!(!ran.load(Ordering::SeqCst));
    block_on(call).unwrap();
    assert!(ran.load(Ordering::SeqCst));
}

fn a_hundred_tasks_into_four_namespaces_never_move_the_runtime_threads() {
    require_root!();
    let namespaces: Vec<TestNs> = (0..4).map(|i| TestNs::new(&format!("async{i}"))).collect();
    let handles: Vec<NetNs> = namespaces.iter().map(|t| t.ns.clone()).collect();
    let tids = Arc::new(Mutex::new(HashSet::new()));
    let runtime = tokio_multi_thread(Arc::clone(&tids));
    let host = host_net_inode();

    // A scanner that looks at the tokio threads all the time the calls run.
    let done = Arc::new(AtomicBool::new(false));
    let scanner = {
        let (done, tids) = (Arc::clone(&done), Arc::clone(&tids));
        std::thread::spawn(move || {
            let mut scans = 0;
            let mut moved = Vec::new();
            while !done.load(Ordering::Relaxed) {
                let ours = tids.lock().unwrap().clone();
                for task in tasks() {
                    if ours.contains(&task.tid) && task.net_inode != host {
                        moved.push(task);
                    }
                }
                scans += 1;
            }
            (scans, moved)
        })
    };

    let results: Vec<(u64, u64)> = runtime.block_on(async {
        let mut calls = tokio::task::JoinSet::new();
        for i in 0..100_u64 {
            let ns = handles[i as usize % 4].clone();
            calls.spawn(async move {
                let delay = Duration::from_millis(i % 7);
                let inside = if i % 2 == 0 {
                    inode_inside_after(&ns, delay).await.unwrap()
                } else {
                    ns.run_async(move || async move {
                        tokio::time::sleep(delay).await;
                        inode_here().unwrap()
                    })
                    .await
                    .unwrap()
                };
                (ns.inode(), inside)
            });
        }
        let mut results = Vec::new();
        while let Some(result) = calls.join_next().await {
            results.push(result.unwrap());
        }
        results
    });
    done.store(true, Ordering::Relaxed);
    let (scans, moved) = scanner.join().unwrap();

    assert_eq!(results.len(), 100);
    for (expected, inside) in results {
        assert_eq!(inside, expected);
    }
    assert!(scans > 0);
    assert!(tids.lock().unwrap().len() >= 4, "no tokio threads recorded");
    assert!(
        moved.is_empty(),
        "tokio threads changed namespace: {moved:?}"
    );
    // And after: every tokio thread still in the host namespace.
    let ours = tids.lock().unwrap().clone();
    for task in tasks() {
        if ours.contains(&task.tid) {
            assert_eq!(task.net_inode, host, "{task:?}");
        }
    }
    assert_threads_where_they_belong();
}

/// Sets its flag when dropped: shows that a body was dropped (cancelled).
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn dropping_the_call_future_cancels_the_body_and_the_namespace_keeps_serving() {
    require_root!();
    let ns = NetNs::create().unwrap();
    let runtime = tokio_multi_thread(Arc::default());
    let started = Arc::new(AtomicBool::new(false));
    let dropped = Arc::new(AtomicBool::new(false));
    let finished = Arc::new(AtomicBool::new(false));
    let call = {
        let (started, dropped, finished) = (
            Arc::clone(&started),
            Arc::clone(&dropped),
            Arc::clone(&finished),
        );
        ns.run_async(move || async move {
            let _guard = SetOnDrop(dropped);
            started.store(true, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_secs(30)).await;
            finished.store(true, Ordering::SeqCst);
        })
    };
    let timed_out = runtime.block_on(async {
        let call = tokio::spawn(call);
        while !started.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        call.abort();
        call.await.unwrap_err().is_cancelled()
    });
    assert!(timed_out);
    wait_until("the body is dropped", || dropped.load(Ordering::SeqCst));
    assert!(!finished.load(Ordering::SeqCst));

    // The same through the attribute, cancelled by a timeout.
    let cancelled = runtime.block_on(async {
        tokio::time::timeout(
            Duration::from_millis(20),
            inode_inside_after(&ns, Duration::from_secs(30)),
        )
        .await
    });
    assert!(cancelled.is_err());

    let inside = runtime.block_on(inode_inside_after(&ns, Duration::ZERO));
    assert_eq!(inside.unwrap(), ns.inode());
}

#[in_netns(ns)]
async fn panics_inside(ns: &NetNs) -> io::Result<()> {
    tokio::task::yield_now().await;
    panic!("boom in {}", inode_here()?);
}

fn a_panic_in_an_async_body_reaches_the_awaiting_task() {
    require_root!();
    let ns = NetNs::create().unwrap();
    let runtime = tokio_multi_thread(Arc::default());
    runtime.block_on(async {
        let handle = ns.clone();
        let err = tokio::spawn(async move {
            handle
                .run_async(|| async { std::panic::panic_any(42_u32) })
                .await
        })
        .await
        .unwrap_err();
        assert_eq!(*err.into_panic().downcast::<u32>().unwrap(), 42);

        let handle = ns.clone();
        let err = tokio::spawn(async move { panics_inside(&handle).await })
            .await
            .unwrap_err();
        let message = *err.into_panic().downcast::<String>().unwrap();
        assert_eq!(message, format!("boom in {}", ns.inode()));

        // Still serving, on a thread still inside.
        assert_eq!(
            inode_inside_after(&ns, Duration::ZERO).await.unwrap(),
            ns.inode()
        );
    });
    assert_threads_where_they_belong();
}

fn a_thousand_sleeping_bodies_share_one_thread() {
    require_root!();
    let ns = NetNs::create().unwrap();
    let runtime = tokio_multi_thread(Arc::default());
    let inode = ns.inode();
    let most = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let thread_ids: HashSet<u32> = runtime.block_on(async {
        let mut calls = tokio::task::JoinSet::new();
        for _ in 0..1000 {
            let ns = ns.clone();
            calls.spawn(async move {
                ns.run_async(|| async {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    nix::unistd::gettid().as_raw() as u32
                })
                .await
                .unwrap()
            });
        }
        // Meanwhile, count the threads inside.
        let counter = {
            let most = Arc::clone(&most);
            tokio::task::spawn_blocking(move || {
                for _ in 0..20 {
                    most.fetch_max(threads_in(inode), Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        };
        let mut ids = HashSet::new();
        while let Some(id) = calls.join_next().await {
            ids.insert(id.unwrap());
        }
        counter.await.unwrap();
        ids
    });
    let elapsed = start.elapsed();
    assert_eq!(thread_ids.len(), 1, "bodies ran on {thread_ids:?}");
    let most = most.load(Ordering::Relaxed);
    assert!((1..=2).contains(&most), "{most} threads in the namespace");
    // Concurrency, not speed (the benchmark measures that): one after another
    // would take 100 s.
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
}

fn sync_calls_inside_an_async_body_run_inline_and_other_namespaces_are_reachable() {
    require_root!();
    let a = NetNs::create().unwrap();
    let b = NetNs::create().unwrap();
    let (a2, b2) = (a.clone(), b.clone());
    let (same, other) = block_on(a.run_async(move || async move {
        let same = a2.run(inode_here).unwrap().unwrap();
        let other = b2.run_async(|| async { inode_here() }).await;
        (same, other.unwrap().unwrap())
    }))
    .unwrap();
    assert_eq!(same, a.inode());
    assert_eq!(other, b.inode());
}

fn the_async_thread_exits_after_the_keep_alive_and_comes_back() {
    require_root!();
    let ns = NetNs::create().unwrap();
    let rt = Runtime::builder()
        .keep_alive(Duration::from_millis(50))
        .build();
    let inode = ns.inode();
    let call = || block_on(rt.run_async(&ns, || async { inode_here() }));
    assert_eq!(call().unwrap().unwrap(), inode);
    wait_until("the async thread exits", || threads_in(inode) == 0);
    assert_eq!(call().unwrap().unwrap(), inode);
    // Dropping the runtime lets its async thread go at once.
    drop(rt);
    wait_until("the async thread exits after its runtime", || {
        threads_in(inode) == 0
    });
}

/// The network namespace inode of the socket `fd`, from the kernel
/// (`ioctl(SIOCGSKNS)` gives an fd of the socket's namespace).
fn socket_namespace(fd: &impl AsRawFd) -> u64 {
    const SIOCGSKNS: libc::c_ulong = 0x894C;
    // SAFETY: SIOCGSKNS takes no argument and returns a new fd or -1.
    let raw = unsafe { libc::ioctl(fd.as_raw_fd(), SIOCGSKNS) };
    assert!(raw >= 0, "SIOCGSKNS: {}", io::Error::last_os_error());
    // SAFETY: `raw` is a new fd that nothing else owns.
    let ns_fd = unsafe { OwnedFd::from_raw_fd(raw) };
    std::fs::read_link(format!("/proc/thread-self/fd/{}", ns_fd.as_raw_fd()))
        .unwrap()
        .to_str()
        .and_then(|s| s.strip_prefix("net:[")?.strip_suffix(']')?.parse().ok())
        .unwrap()
}

fn sockets_made_inside_belong_to_the_namespace_and_serve_from_a_tokio_program() {
    require_root!();
    let t = TestNs::new("sockets");
    let ns = &t.ns;
    ns.set_loopback_up().unwrap();

    let listener = ns.tcp_listener("127.0.0.1:0").unwrap();
    let udp = ns.udp_socket("127.0.0.1:0").unwrap();
    let netlink = ns.netlink_socket(libc::NETLINK_ROUTE).unwrap();
    for inode in [
        socket_namespace(&listener),
        socket_namespace(&udp),
        socket_namespace(&netlink),
    ] {
        assert_eq!(inode, ns.inode());
    }
    let port = listener.local_addr().unwrap().port();
    // The host has no such listener.
    let refused = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap_err();
    assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);

    let runtime = tokio_multi_thread(Arc::default());
    let server = runtime.spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        listener.set_nonblocking(true).unwrap();
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut request = [0; 4];
        stream.read_exact(&mut request).await.unwrap();
        stream.write_all(b"pong").await.unwrap();
        request
    });
    let mut client = ns.tcp_connect(("127.0.0.1", port)).unwrap();
    assert_eq!(socket_namespace(&client), ns.inode());
    client.write_all(b"ping").unwrap();
    let mut reply = [0; 4];
    client.read_exact(&mut reply).unwrap();
    assert_eq!(&reply, b"pong");
    assert_eq!(&runtime.block_on(server).unwrap(), b"ping");
}

/// Panics when dropped: a body's local, future or value that fails in `Drop`.
struct PanicOnDrop(&'static str);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("{} panics on drop", self.0);
        }
    }
}

/// A body future that is ready at once and panics only when dropped afterwards.
struct ReadyThenPanicOnDrop(#[allow(dead_code)] PanicOnDrop);

impl Future for ReadyThenPanicOnDrop {
    type Output = u32;
    fn poll(self: std::pin::Pin<&mut Self>, _: &mut Context<'_>) -> Poll<u32> {
        Poll::Ready(nix::unistd::gettid().as_raw() as u32)
    }
}

/// Runs, on `rt`'s async thread of `ns`, every kind of body whose drop panics on
/// that thread: cancelled while suspended, completed with a panicking local, a
/// completed future that panics when dropped, a value whose caller is gone. After
/// each, the same thread still serves. Returns that thread's id.
fn bodies_that_panic_on_drop(runtime: &tokio::runtime::Runtime, rt: &Runtime, ns: &NetNs) -> u32 {
    let tid = || async { nix::unistd::gettid().as_raw() as u32 };
    runtime.block_on(async {
        let driver = rt.run_async(ns, tid).await.unwrap();
        let still_serving = || async {
            assert_eq!(
                rt.run_async(ns, tid).await.unwrap(),
                driver,
                "another thread"
            );
        };

        // Cancelled at its await: the body's future is dropped on the driver.
        let cancelled = tokio::time::timeout(
            Duration::from_millis(20),
            rt.run_async(ns, || async {
                let _guard = PanicOnDrop("a cancelled body's local");
                tokio::time::sleep(Duration::from_secs(30)).await;
            }),
        )
        .await;
        assert!(cancelled.is_err());
        tokio::time::sleep(Duration::from_millis(20)).await;
        still_serving().await;

        // Completed: the local is dropped inside the body, the caller sees the panic.
        let call = rt.run_async(ns, || async {
            let _guard = PanicOnDrop("a completed body's local");
            tokio::task::yield_now().await;
        });
        let panic = tokio::spawn(call).await.unwrap_err().into_panic();
        let message = panic.downcast::<String>().unwrap();
        assert_eq!(*message, "a completed body's local panics on drop");
        still_serving().await;

        // A completed future that panics when dropped: the caller sees that panic.
        let call = rt.run_async(ns, || ReadyThenPanicOnDrop(PanicOnDrop("a body's future")));
        let panic = tokio::spawn(call).await.unwrap_err().into_panic();
        let message = panic.downcast::<String>().unwrap();
        assert_eq!(*message, "a body's future panics on drop");
        still_serving().await;

        // A value that panics on drop, made after its caller left: dropped on the
        // driver. The body blocks its thread, so it cannot see the cancellation.
        let gone = tokio::time::timeout(
            Duration::from_millis(10),
            rt.run_async(ns, || async {
                std::thread::sleep(Duration::from_millis(50));
                PanicOnDrop("a value nobody awaits")
            }),
        )
        .await;
        assert!(gone.is_err());
        tokio::time::sleep(Duration::from_millis(60)).await;
        still_serving().await;
        driver
    })
}

fn bodies_that_panic_on_drop_neither_kill_nor_pin_the_async_thread() {
    require_root!();
    let runtime = tokio_multi_thread(Arc::default());
    let ns = NetNs::create().unwrap();
    let inode = ns.inode();

    // The keep-alive lets the thread go once the bodies are done (long enough
    // that the same thread serves every body of the sequence, even under load).
    let rt = Runtime::builder()
        .keep_alive(Duration::from_millis(500))
        .build();
    bodies_that_panic_on_drop(&runtime, &rt, &ns);
    wait_until("the async thread exits after its keep-alive", || {
        threads_in(inode) == 0
    });

    // And the namespace's release does, long before the keep-alive.
    let rt = Runtime::builder()
        .keep_alive(Duration::from_secs(60))
        .build();
    bodies_that_panic_on_drop(&runtime, &rt, &ns);
    assert_eq!(threads_in(inode), 1);
    drop(ns);
    let released = Instant::now();
    while threads_in(inode) > 0 {
        assert!(
            released.elapsed() < Duration::from_secs(1),
            "a thread stayed in the namespace after its last handle"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_threads_where_they_belong();
}

tests! {
    bodies_run_inside_from_any_executor_and_need_not_be_send,
    a_call_future_does_nothing_until_polled,
    a_hundred_tasks_into_four_namespaces_never_move_the_runtime_threads,
    dropping_the_call_future_cancels_the_body_and_the_namespace_keeps_serving,
    a_panic_in_an_async_body_reaches_the_awaiting_task,
    a_thousand_sleeping_bodies_share_one_thread,
    sync_calls_inside_an_async_body_run_inline_and_other_namespaces_are_reachable,
    the_async_thread_exits_after_the_keep_alive_and_comes_back,
    sockets_made_inside_belong_to_the_namespace_and_serve_from_a_tokio_program,
    bodies_that_panic_on_drop_neither_kill_nor_pin_the_async_thread,
}
