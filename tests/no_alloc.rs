//! The call path allocates nothing in steady state: the job lives on the caller's
//! stack and the queue keeps its capacity. Counted with a global allocator, in a
//! test binary of its own so that no other test's allocations are counted.

#[macro_use]
mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};

use ns_runtime::{in_netns, NetNs};

struct CountingAllocator;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; it only counts.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is forwarded as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

// The tests in this file run one at a time: each counts the whole process's
// allocations.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[in_netns(ns)]
fn add_inside(ns: &NetNs, a: u64, b: u64) -> std::io::Result<u64> {
    Ok(a + b)
}

fn steady_state_calls_do_not_allocate() {
    require_root!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let ns = NetNs::create().unwrap();
    let input = [1_u64, 2, 3];
    // Warm up: start the namespace thread, grow the queue, touch thread-locals,
    // and let the thread go to sleep and be woken (a pause after some calls).
    for round in 0..1000 {
        ns.run(|| black_box(input.iter().sum::<u64>())).unwrap();
        add_inside(&ns, 1, 2).unwrap();
        if round % 250 == 0 {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for i in 0..10_000 {
        let sum = ns.run(|| black_box(input.iter().sum::<u64>())).unwrap();
        assert_eq!(sum, 6);
        assert_eq!(add_inside(&ns, i, 1).unwrap(), i + 1);
    }
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert_eq!(allocations, 0, "20000 calls allocated {allocations} times");
}

/// Twelve callers of one namespace served by one thread: four more than the
/// hand-off cells, so calls also go through the queue, whose jobs live on their
/// callers' stacks and whose capacity stays once grown.
fn queued_calls_do_not_allocate() {
    require_root!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let ns = NetNs::create().unwrap();
    // One thread: no thread started in the counted part.
    let rt = ns_runtime::Runtime::builder().max_threads_per_ns(1).build();
    let callers = 12;
    let phase = std::sync::Barrier::new(callers + 1);
    let queued_or_not = |n: u64| {
        for i in 0..n {
            assert_eq!(rt.run(&ns, || black_box(i) + 1).unwrap(), i + 1);
        }
    };
    let allocations = std::thread::scope(|s| {
        for _ in 0..callers {
            s.spawn(|| {
                queued_or_not(2_000); // warm up
                phase.wait();
                phase.wait();
                queued_or_not(2_000);
                phase.wait();
            });
        }
        phase.wait();
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        phase.wait();
        phase.wait();
        ALLOCATIONS.load(Ordering::Relaxed) - before
    });
    let stats = rt.stats();
    assert!(stats.targets[0].calls >= 48_000);
    assert_eq!(
        allocations, 0,
        "24000 calls of 12 callers allocated {allocations} times"
    );
}

tests! {
    steady_state_calls_do_not_allocate,
    queued_calls_do_not_allocate,
}
