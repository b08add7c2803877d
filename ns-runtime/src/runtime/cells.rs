//! The hand-off cells of a pool: a call and its answer travel in one cache line.
//!
//! A runtime thread with nothing to do *arms* cells of its target's pool and
//! spins on them. A caller claims an armed cell with one compare-and-swap, writes
//! its call into the cell (the closure itself when the closure and its answer
//! fit in the line, else a pointer to them on the caller's stack) and spins on
//! the same line. The thread runs the call, writes the answer (the value, or the
//! panic) where the closure was and marks the cell done; the caller reads the
//! answer and re-arms the cell for the thread. A call thus moves one cache line
//! to the thread and back, as two threads spinning on one atomic do: the floor
//! of any cross-thread call. No lock, no allocation, no other shared write.
//!
//! After an answer, the thread lets a few of its looks for calls pass that cell
//! by (how many it tunes: `quiet.rs`): a look before the caller can have written
//! again only takes the line from it.
//!
//! There are several cells, so that several callers hand off at once without a
//! lock or a sleep: the thread answers the calls it finds in its cells one after
//! another. A cell belongs to the thread that armed it until that thread gives
//! it up (to sleep, to move, to leave, or because a body damaged it); only that
//! thread runs calls from it, which is why taking a call needs no second
//! compare-and-swap. A call the thread cannot run (a body damaged the thread)
//! goes back to its caller, which queues it instead.
//!
//! While a caller holds its cell (writing its call, reading its answer), only
//! the caller changes the cell: a thread giving it up waits for it. So the
//! caller's writes after its claim are plain stores, which do not wait for
//! the cache line as a compare-and-swap does.

use std::any::Any;
use std::cell::UnsafeCell;
use std::mem::{ManuallyDrop, MaybeUninit};
use std::panic::{self, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::cpu;
use super::latch::{spin_until, PURE_SPINS, TAKEN_SPIN_FACTOR};
use super::sync::{self, AtomicUsize, Parker};
use super::ticks::{self, Span};

/// Cells per pool: callers beyond this many at once queue. Enough for the
/// callers of one target on a small machine; a call that finds every cell busy
/// waits (spinning, `spin` at most) for one before it queues. (Two under loom:
/// every cell a caller looks at multiplies the interleavings to explore.)
#[cfg(not(loom))]
pub(crate) const CELLS: usize = 8;
#[cfg(loom)]
pub(crate) const CELLS: usize = 2;

// A cell's state word: what the cell holds (the low bits) and how many calls it
// has carried (the rest).

/// Nobody serves the cell: callers pass it by.
const EMPTY: usize = 0;
/// Armed: the thread that armed it spins on it and takes a call put there.
const WAITING: usize = 1;
/// A caller has claimed it and writes its call.
const CLAIMED: usize = 2;
/// A call waits here, or runs.
const CALL: usize = 3;
/// As `CALL`, and its caller parks: the thread unparks it with the answer.
const CALL_PARKED: usize = 4;
/// The answer is here; the caller re-arms the cell for the thread.
const DONE: usize = 5;
/// The answer is here, and the thread gave the cell up: the caller empties it.
const DONE_LAST: usize = 6;
/// The thread cannot run the call (a body damaged it): the caller takes its
/// closure back, empties the cell and queues the call.
const BOUNCED: usize = 7;

const TAG_BITS: u32 = 3;
const TAG: usize = (1 << TAG_BITS) - 1;
const ONE_CALL: usize = 1 << TAG_BITS;

fn tag(word: usize) -> usize {
    word & TAG
}

fn with(word: usize, tag: usize) -> usize {
    (word & !TAG) | tag
}

/// Bytes of a cell's line left for the call and its answer.
const PAYLOAD_WORDS: usize = 6;

/// What a call ends in: the body's value, or its panic.
pub(crate) type Outcome<R> = Result<R, Box<dyn Any + Send>>;

/// A call's closure, then its outcome, in the same place.
union Payload<F, R> {
    func: ManuallyDrop<F>,
    outcome: ManuallyDrop<Outcome<R>>,
}

/// Whether a call of `F` returning `R` travels in the cell itself.
const fn fits<F, R>() -> bool {
    size_of::<Payload<F, R>>() <= size_of::<[usize; PAYLOAD_WORDS]>()
        && align_of::<Payload<F, R>>() <= align_of::<usize>()
}

#[repr(C, align(128))]
struct Cell {
    state: AtomicUsize,
    /// Runs the call whose payload is at the address given, leaving the outcome
    /// there, and returns the body's span (written by the caller that claimed
    /// the cell).
    run: UnsafeCell<unsafe fn(*mut u8) -> Span>,
    /// The call's `Payload`, or a pointer to it on the caller's stack.
    payload: UnsafeCell<MaybeUninit<[usize; PAYLOAD_WORDS]>>,
    /// The caller, when it parks (on the second line: only for slow calls).
    parker: UnsafeCell<Option<Parker>>,
    /// 1 + the CPU of a caller that had to yield it for its answer, for the
    /// thread to see whether it shares that CPU (`cpu.rs`); 0: none. (Second
    /// line: written only after slow calls.)
    crowded_on: AtomicUsize,
}

// The caller's note for its thread stays off the line a call travels in.
const _: () = assert!(std::mem::offset_of!(Cell, crowded_on) >= 64);

// SAFETY: the non-atomic fields are owned in turn, as the state word says. The
// claiming caller writes `run`, `payload` and `parker` between its claim
// (Acquire) and its `CALL` or `CALL_PARKED` (Release); the arming thread reads
// them and writes the answer in `payload` only after it observed that (Acquire),
// and before its `DONE` (Release); the caller reads the answer after it observed
// `DONE` (Acquire), and releases the cell (Release) before anyone may claim it
// again. Every other field is atomic.
unsafe impl Sync for Cell {}

impl Cell {
    fn new() -> Cell {
        Cell {
            state: AtomicUsize::new(EMPTY),
            run: UnsafeCell::new(run_nothing),
            payload: UnsafeCell::new(MaybeUninit::uninit()),
            parker: UnsafeCell::new(None),
            crowded_on: AtomicUsize::new(0),
        }
    }

    fn payload(&self) -> *mut u8 {
        self.payload.get().cast()
    }

    /// Compare-and-swap of the state.
    #[inline]
    fn cas(
        &self,
        from: usize,
        to: usize,
        success: Ordering,
        failure: Ordering,
    ) -> Result<usize, usize> {
        self.state.compare_exchange(from, to, success, failure)
    }

    /// Moves the state on from `from`, which only the caller of this may change
    /// now: a plain store. (Under loom, a swap that checks `from`: loom 0.7 may
    /// order a plain store before a read-modify-write that came first,
    /// tokio-rs/loom#254.)
    #[inline]
    fn set(&self, from: usize, to: usize) {
        #[cfg(not(loom))]
        {
            let _ = from;
            self.state.store(to, Ordering::Release);
        }
        #[cfg(loom)]
        assert_eq!(
            self.state.swap(to, Ordering::AcqRel),
            from,
            "a cell changed under its holder"
        );
    }

    /// The caller's wait for the answer to `call` (its `CALL` word): it spins,
    /// as long as a caller whose job runs does, then parks. Returns the word
    /// that ended the wait (`DONE`, `DONE_LAST` or `BOUNCED`).
    #[inline]
    fn wait(&self, call: usize, spin: Duration) -> usize {
        let ended = |word: usize| tag(word) >= DONE;
        let mut word = call;
        let mut looks = 0_u32;
        if spin_until(spin * (1 + TAKEN_SPIN_FACTOR), || {
            looks += 1;
            word = self.state.load(Ordering::Acquire);
            ended(word)
        }) {
            // (Past its pure spins, the spin yields between looks.)
            if looks > PURE_SPINS + 1 {
                self.note_crowded();
            }
            return word;
        }
        let parker = Parker::current();
        // SAFETY: the caller owns `parker` while the state is `CALL` (see the Sync
        // impl): the thread reads it only after it sees `CALL_PARKED`.
        unsafe { *self.parker.get() = Some(parker.clone()) };
        let parked = with(call, CALL_PARKED);
        let word = match self.cas(call, parked, Ordering::Release, Ordering::Acquire) {
            Err(word) => word, // answered meanwhile
            Ok(_) => loop {
                // `park` can return spuriously, or for an older unpark.
                let word = self.state.load(Ordering::Acquire);
                if ended(word) {
                    break word;
                }
                parker.park();
            },
        };
        // SAFETY: the thread read the parker (if it did) before it ended the wait.
        unsafe { *self.parker.get() = None };
        word
    }

    /// The caller had to yield its CPU for its answer: perhaps to the thread
    /// serving it. Tells that thread which CPU it was.
    fn note_crowded(&self) {
        if let Some(cpu) = cpu::current() {
            if self.crowded_on.load(Ordering::Relaxed) != cpu + 1 {
                self.crowded_on.store(cpu + 1, Ordering::Relaxed);
            }
        }
    }
}

/// Waits until the caller holding `cell` moves it on from `word` (CLAIMED: it
/// writes its call; DONE: it reads its answer): a few instructions, unless the
/// caller was preempted or stopped, so spin, then yield, then nap.
fn wait_for_caller(cell: &Cell, word: usize) {
    let mut looks = 0_u32;
    while cell.state.load(Ordering::Acquire) == word {
        looks += 1;
        if cfg!(loom) || (64..1024).contains(&looks) {
            sync::thread::yield_now();
        } else if looks < 64 {
            std::hint::spin_loop();
        } else {
            #[cfg(not(loom))]
            std::thread::sleep(Duration::from_micros(100));
        }
    }
}

/// A no-op for a cell that never carried a call.
unsafe fn run_nothing(_: *mut u8) -> Span {
    ticks::timed(|| ()).1
}

/// Runs the call whose `Payload<F, R>` is at `payload` and leaves the outcome
/// there. Returns when the closure began and ended.
///
/// # Safety
/// `payload` holds a `Payload` with its `func` set, which nothing else touches
/// until the cell says `DONE`.
unsafe fn run_here<F: FnOnce() -> R, R>(payload: *mut u8) -> Span {
    let payload = payload.cast::<Payload<F, R>>();
    // SAFETY: the closure is there (the contract); read once, then replaced by
    // the outcome.
    unsafe {
        let func = ManuallyDrop::into_inner(ptr::read(&(*payload).func));
        // The outcome goes straight into the cell: made on the stack and
        // copied after the timing, an outcome over 16 bytes (any `Result` but
        // the smallest) cost ≈ 20 ns more a call back to back.
        let outcome = ptr::addr_of_mut!((*payload).outcome).cast::<Outcome<R>>();
        let ((), body) =
            ticks::timed(|| outcome.write(panic::catch_unwind(AssertUnwindSafe(func))));
        body
    }
}

/// As [`run_here`], for a payload on the caller's stack whose address is in the
/// cell.
///
/// # Safety
/// `payload` holds the address of such a `Payload`, alive until `DONE`.
unsafe fn run_there<F: FnOnce() -> R, R>(payload: *mut u8) -> Span {
    // SAFETY: the contract.
    unsafe { run_here::<F, R>(payload.cast::<*mut u8>().read()) }
}

/// A pool's hand-off cells.
pub(crate) struct Cells {
    cells: Box<[Cell]>,
}

/// The cells a thread has armed, and where it looks first for the next call.
#[derive(Default)]
pub(crate) struct Armed {
    cells: u32,
    next: usize,
    /// The cell answered last, and how many more looks for calls pass it by
    /// (see `quiet.rs`).
    quiet: (usize, u32),
    /// Counted among the pool's workers that arm cells (kept by the pool).
    pub(crate) counted: bool,
}

impl Armed {
    pub(crate) fn is_empty(&self) -> bool {
        self.cells == 0
    }

    pub(crate) fn count(&self) -> usize {
        self.cells.count_ones() as usize
    }

    /// Lets `looks` looks for calls pass by the cell answered last (see
    /// `quiet.rs`). With none, the next look starts after that cell: a caller
    /// that calls again at once would otherwise go before the calls waiting in
    /// the other cells every time.
    pub(crate) fn leave_alone(&mut self, looks: u32) {
        self.quiet.1 = looks;
        if looks == 0 {
            self.next = (self.quiet.0 + 1) % CELLS;
        }
    }

    /// Lets at most `looks` more looks pass by the cell answered last.
    pub(crate) fn leave_alone_at_most(&mut self, looks: u32) {
        if self.quiet.1 > looks {
            self.leave_alone(looks);
        }
    }

    fn has(&self, cell: usize) -> bool {
        self.cells & (1 << cell) != 0
    }

    fn add(&mut self, cell: usize) {
        self.cells |= 1 << cell;
    }

    fn remove(&mut self, cell: usize) {
        self.cells &= !(1 << cell);
    }

    /// Its cells, starting with the one a call was taken from last.
    fn in_turn(&self) -> impl Iterator<Item = usize> + '_ {
        (0..CELLS)
            .map(move |i| (self.next + i) % CELLS)
            .filter(move |&cell| self.has(cell))
    }
}

/// A call found in an armed cell, for its thread to run and answer.
pub(crate) struct Taken {
    cell: usize,
    word: usize,
}

impl Taken {
    /// Whether this call waited in another cell than the one the thread
    /// answered last: it came while the thread was busy with another caller's.
    #[inline]
    pub(crate) fn waited_behind_another(&self, armed: &Armed) -> bool {
        self.cell != armed.quiet.0
    }
}

#[cfg(not(loom))]
thread_local! {
    /// The cell a thread last called through: where it looks first (callers on
    /// different threads then mostly use different cells).
    static HINT: std::cell::Cell<usize> = {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        std::cell::Cell::new(NEXT.fetch_add(1, Ordering::Relaxed) % CELLS)
    };
}

// (Under loom, every run of a model must start alike.)
#[cfg(loom)]
loom::thread_local! {
    static HINT: std::cell::Cell<usize> = std::cell::Cell::new(0);
}

impl Cells {
    pub(crate) fn new() -> Cells {
        Cells {
            cells: (0..CELLS).map(|_| Cell::new()).collect(),
        }
    }

    // The caller's side.

    /// Runs `f` through an armed cell and returns its outcome; `Err(f)` if no
    /// thread serves a cell (or none freed up within `spin`), or if the thread
    /// gave the call back: queue it.
    pub(crate) fn call<F, R>(&self, f: F, spin: Duration) -> Result<Outcome<R>, F>
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        let Some((cell, claimed)) = self.claim(spin) else {
            return Err(f);
        };
        let mut outside = MaybeUninit::<Payload<F, R>>::uninit();
        let at: *mut Payload<F, R> = if fits::<F, R>() {
            cell.payload().cast()
        } else {
            outside.as_mut_ptr()
        };
        // SAFETY: the claim made the cell's fields ours until we say `CALL`;
        // `at` is either in the cell, or `outside`, which stays in this frame
        // unmoved until the cell's answer: nothing below returns before it, and
        // nothing below can unwind.
        unsafe {
            at.write(Payload {
                func: ManuallyDrop::new(f),
            });
            if fits::<F, R>() {
                *cell.run.get() = run_here::<F, R>;
            } else {
                cell.payload().cast::<*mut Payload<F, R>>().write(at);
                *cell.run.get() = run_there::<F, R>;
            }
        }
        // Plain stores, here and below: while the cell says CLAIMED or DONE, only
        // its caller changes it (a thread giving it up waits for us), and a
        // store, unlike a compare-and-swap, does not wait for the cache line.
        let call = with(claimed, CALL);
        cell.set(claimed, call);
        let ended = cell.wait(call, spin);
        if tag(ended) == BOUNCED {
            // SAFETY: never run: the closure is still where we wrote it, ours again.
            let f = unsafe { ManuallyDrop::into_inner(ptr::read(&(*at).func)) };
            // Not a call carried after all.
            cell.set(ended, with(ended, EMPTY).wrapping_sub(ONE_CALL));
            return Err(f);
        }
        // SAFETY: answered: the outcome replaced the closure, and is ours.
        let outcome = unsafe { ManuallyDrop::into_inner(ptr::read(&(*at).outcome)) };
        // Re-armed for its thread, unless the thread gave it up (DONE_LAST).
        let next = if tag(ended) == DONE { WAITING } else { EMPTY };
        cell.set(ended, with(ended, next));
        Ok(outcome)
    }

    /// Claims an armed cell, the caller's last one first. If every armed cell is
    /// busy, waits for one up to `spin`. `None` if no cell is armed, or none
    /// freed up.
    #[inline]
    fn claim(&self, spin: Duration) -> Option<(&Cell, usize)> {
        let hint = HINT.with(std::cell::Cell::get);
        let mut claimed = None;
        let mut try_all = || {
            let mut armed = false;
            for i in 0..CELLS {
                let at = (hint + i) % CELLS;
                let cell = &self.cells[at];
                let word = cell.state.load(Ordering::Relaxed);
                match tag(word) {
                    WAITING => {
                        armed = true;
                        let mine = with(word + ONE_CALL, CLAIMED);
                        if cell
                            .cas(word, mine, Ordering::Acquire, Ordering::Relaxed)
                            .is_ok()
                        {
                            HINT.with(|hint| hint.set(at));
                            claimed = Some((cell, mine));
                            return true;
                        }
                    }
                    CLAIMED | CALL | CALL_PARKED | DONE => armed = true,
                    _ => {}
                }
            }
            // Done looking when no thread serves any cell.
            !armed
        };
        if try_all() {
            return claimed;
        }
        spin_until(spin, &mut try_all);
        claimed
    }

    // The arming thread's side.

    /// Arms cells that nobody serves, until the thread has `wanted` (at most
    /// [`CELLS`]). Returns whether it has any.
    pub(crate) fn arm(&self, armed: &mut Armed, wanted: usize) -> bool {
        let mut at = armed.next;
        for _ in 0..CELLS {
            if armed.count() >= wanted {
                break;
            }
            let cell = &self.cells[at];
            let word = cell.state.load(Ordering::Relaxed);
            if tag(word) == EMPTY
                && !armed.has(at)
                && cell
                    .cas(
                        word,
                        with(word, WAITING),
                        Ordering::AcqRel,
                        Ordering::Relaxed,
                    )
                    .is_ok()
            {
                armed.add(at);
            }
            at = (at + 1) % CELLS;
        }
        !armed.is_empty()
    }

    /// Gives up cells beyond `wanted` that wait for a call (the cell called
    /// through last is kept longest).
    pub(crate) fn trim(&self, armed: &mut Armed, wanted: usize) {
        // (`next` is the cell called through last: looked at last here.)
        let start = armed.next + 1;
        let mut at = start;
        while armed.count() > wanted && at < start + CELLS {
            let index = at % CELLS;
            let cell = &self.cells[index];
            let word = cell.state.load(Ordering::Relaxed);
            if armed.has(index)
                && tag(word) == WAITING
                && cell
                    .cas(word, with(word, EMPTY), Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
            {
                armed.remove(index);
            }
            at += 1;
        }
    }

    /// The next call waiting in one of the thread's cells, taking them in turn
    /// (but not in the cell answered last for the looks the answer said).
    #[inline]
    pub(crate) fn take(&self, armed: &mut Armed) -> Option<Taken> {
        let (quiet_cell, quiet_looks) = &mut armed.quiet;
        let passed_by = if *quiet_looks > 0 {
            *quiet_looks -= 1;
            *quiet_cell
        } else {
            CELLS
        };
        let taken = armed
            .in_turn()
            .filter(|&cell| cell != passed_by)
            .find_map(|cell| {
                let word = self.cells[cell].state.load(Ordering::Acquire);
                matches!(tag(word), CALL | CALL_PARKED).then_some(Taken { cell, word })
            })?;
        // The next looks start at this cell: once the looks after the answer
        // have passed it by, the next call of a caller back to back is the one
        // to come next, and is found without first looking at every other cell
        // (3–4 ns a call). No caller waits behind another again and again:
        // the looks that pass this cell by look at every other one, and when
        // none does, the first look starts after it (`Armed::leave_alone`).
        armed.next = taken.cell;
        Some(taken)
    }

    /// Runs a call taken from a cell (it stays there, untouched by anyone else,
    /// until [`Cells::answer`]). Returns when its body began and ended.
    pub(crate) fn run(&self, call: &Taken) -> Span {
        let cell = &self.cells[call.cell];
        // SAFETY: the caller said `CALL` after writing `run` and the payload
        // (observed with Acquire in `take`), and waits for our answer.
        unsafe { (*cell.run.get())(cell.payload()) }
    }

    /// Whether a caller of this cell (this call's, or an earlier one's) had to
    /// yield its CPU for its answer on the CPU the calling thread runs on now:
    /// then they share it. The note is cleared once acted on; a note of another
    /// CPU is left (it costs a look at an unchanged line).
    pub(crate) fn crowded_here(&self, call: &Taken) -> Option<usize> {
        if cfg!(loom) {
            return None; // (no CPUs there; a look would only add interleavings)
        }
        let crowded_on = &self.cells[call.cell].crowded_on;
        let noted = crowded_on.load(Ordering::Relaxed).checked_sub(1)?;
        let here = cpu::current().filter(|&here| here == noted)?;
        crowded_on.store(0, Ordering::Relaxed);
        Some(here)
    }

    /// Tells the caller its call ran. `last`: the thread gives the cell up.
    /// Returns whether the caller spun for the answer (rather than parking).
    #[inline]
    pub(crate) fn answer(&self, call: Taken, armed: &mut Armed, last: bool) -> bool {
        if last {
            armed.remove(call.cell);
        }
        armed.quiet = (call.cell, 0);
        self.end(call, if last { DONE_LAST } else { DONE })
    }

    /// Gives a call back to its caller, unrun (it queues it).
    pub(crate) fn bounce(&self, call: Taken, armed: &mut Armed) {
        armed.remove(call.cell);
        let _ = self.end(call, BOUNCED);
    }

    /// Ends `call` with `how`. Returns whether its caller was spinning (else
    /// it parked, and is unparked).
    #[inline]
    fn end(&self, call: Taken, how: usize) -> bool {
        let cell = &self.cells[call.cell];
        let ended = with(call.word, how);
        if cell
            .cas(
                with(call.word, CALL),
                ended,
                Ordering::Release,
                Ordering::Acquire,
            )
            .is_ok()
        {
            return true; // the caller spins: it sees the answer
        }
        // CALL_PARKED: the caller published its parker (Acquire above), and
        // cannot leave before our store. Cloned before it: after it, the
        // caller may clear it.
        // SAFETY: see the Sync impl.
        let parker = unsafe { (*cell.parker.get()).clone() };
        cell.set(with(call.word, CALL_PARKED), ended);
        if let Some(parker) = parker {
            parker.unpark();
        }
        false
    }

    /// Gives up every cell the thread armed. A call found in one is returned for
    /// the thread to run or bounce (then call again); a cell whose caller is
    /// writing its call or reading its answer is given up once the caller is
    /// done with that. `None`: all given up.
    pub(crate) fn give_up(&self, armed: &mut Armed) -> Option<Taken> {
        loop {
            let Some(at) = armed.in_turn().next() else {
                // loom keeps the last 7 values of an atomic only, and orders
                // read-modify-writes wrongly past that: arm the next cell next
                // time, so that no cell is armed and given up more than that in
                // one model run.
                if cfg!(loom) {
                    armed.next = (armed.next + 1) % CELLS;
                }
                return None;
            };
            let cell = &self.cells[at];
            let word = cell.state.load(Ordering::Acquire);
            match tag(word) {
                WAITING => {
                    if cell
                        .cas(word, with(word, EMPTY), Ordering::AcqRel, Ordering::Relaxed)
                        .is_ok()
                    {
                        armed.remove(at);
                    }
                }
                CALL | CALL_PARKED => return Some(Taken { cell: at, word }),
                CLAIMED | DONE => wait_for_caller(cell, word),
                _ => armed.remove(at), // not ours any more (cannot happen)
            }
        }
    }

    // For the pool's bookkeeping (never on a call's path).

    /// Calls the cells have carried so far.
    pub(crate) fn calls(&self) -> usize {
        self.cells.iter().fold(0, |sum, cell| {
            sum.wrapping_add(cell.state.load(Ordering::Relaxed) >> TAG_BITS)
        })
    }

    /// Cells that hold a call now, waiting or running (each keeps its thread busy).
    pub(crate) fn holding_calls(&self) -> usize {
        self.cells
            .iter()
            .filter(|cell| matches!(tag(cell.state.load(Ordering::Relaxed)), CALL | CALL_PARKED))
            .count()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    use std::thread;

    /// Runs `serve` on a thread of its own with `cells` armed, as a runtime
    /// thread would.
    fn server<T: Send + 'static>(
        cells: &Arc<Cells>,
        cells_armed: usize,
        serve: impl FnOnce(&Cells, &mut Armed) -> T + Send + 'static,
    ) -> thread::JoinHandle<T> {
        let cells = Arc::clone(cells);
        thread::spawn(move || {
            let mut armed = Armed::default();
            assert!(cells.arm(&mut armed, cells_armed));
            serve(&cells, &mut armed)
        })
    }

    /// Calls `f` through `cells` until a thread takes it (until the server
    /// armed its cells, a call comes back).
    fn call_until_taken<R: Send>(cells: &Cells, mut f: impl FnOnce() -> R + Send) -> R {
        loop {
            match cells.call(f, Duration::from_secs(10)) {
                Ok(outcome) => break outcome.unwrap(),
                Err(back) => f = back,
            }
        }
    }

    /// The looks after an answer pass its cell by even with a call there;
    /// giving the cells up finds the call whatever the looks left.
    #[test]
    fn looks_after_an_answer_pass_its_cell_by_and_giving_up_finds_its_call() {
        let cells = Arc::new(Cells::new());
        let server = server(&cells, 1, |cells, armed| {
            let next_call = |armed: &mut Armed| {
                while cells.holding_calls() == 0 {
                    std::hint::spin_loop();
                }
                let mut passed = 0;
                loop {
                    if let Some(call) = cells.take(armed) {
                        break (call, passed);
                    }
                    passed += 1;
                }
            };
            let (call, passed) = next_call(armed);
            assert_eq!(passed, 0);
            cells.run(&call);
            cells.answer(call, armed, false);
            armed.leave_alone(2);
            let (call, passed) = next_call(armed);
            assert_eq!(passed, 2, "the looks passed the cell by");
            cells.run(&call);
            cells.answer(call, armed, false);
            armed.leave_alone(100);
            while cells.holding_calls() == 0 {
                std::hint::spin_loop();
            }
            let call = cells.give_up(armed).expect("the call in the cell");
            cells.run(&call);
            cells.answer(call, armed, true);
            assert!(cells.give_up(armed).is_none());
        });
        for x in 0..3_u64 {
            assert_eq!(call_until_taken(&cells, move || x * 2), x * 2);
        }
        server.join().unwrap();
    }

    /// A caller that calls again at once does not go before a call waiting in
    /// another cell, when no look passes its cell by.
    #[test]
    fn a_caller_calling_again_at_once_does_not_go_before_a_waiting_call() {
        let cells = Arc::new(Cells::new());
        let server = server(&cells, 2, |cells, armed| {
            let both_waiting = || {
                while cells.holding_calls() < 2 {
                    std::hint::spin_loop();
                }
            };
            both_waiting();
            let first = cells.take(armed).expect("a call");
            let first_cell = first.cell;
            cells.run(&first);
            cells.answer(first, armed, false);
            armed.leave_alone(0);
            // Its caller calls again; the other call still waits.
            both_waiting();
            let second = cells.take(armed).expect("a call");
            // (Told after every call is answered: no caller waits in vain.)
            let went_first = second.cell == first_cell;
            cells.run(&second);
            cells.answer(second, armed, false);
            // The rest, in any order.
            for _ in 0..2 {
                let call = loop {
                    if let Some(call) = cells.take(armed) {
                        break call;
                    }
                };
                cells.run(&call);
                cells.answer(call, armed, false);
            }
            while let Some(call) = cells.give_up(armed) {
                cells.run(&call);
                cells.answer(call, armed, true);
            }
            went_first
        });
        thread::scope(|s| {
            for id in 0..2_u64 {
                let cells = &cells;
                s.spawn(move || {
                    for _ in 0..2 {
                        assert_eq!(call_until_taken(cells, move || id), id);
                    }
                });
            }
        });
        let went_first = server.join().unwrap();
        assert!(!went_first, "the caller that called again went first");
    }

    /// The span a thread reads around a trivial call is the closure's alone, short
    /// enough to count as no system call, though the caller spins on the cell's
    /// line meanwhile (between distant cores, the answer's write waits for that
    /// line: timed with the body, half the bodies looked long and had the thread
    /// check itself every ~140 calls).
    #[test]
    fn a_trivial_call_is_timed_short_while_its_caller_spins_on_the_cell() {
        let bar = ticks::syscall_bar();
        if bar == 0 {
            // Bodies are not timed on this machine: nothing to test, which
            // must not pass unseen in CI (its machines time bodies).
            assert!(
                std::env::var_os("CI").is_none_or(|ci| ci != "true"),
                "no clock cheap enough to time bodies on this CI machine"
            );
            return;
        }
        let cells = Arc::new(Cells::new());
        let stop = Arc::new(AtomicBool::new(false));
        let server = {
            let (cells, stop) = (Arc::clone(&cells), Arc::clone(&stop));
            thread::spawn(move || {
                let mut armed = Armed::default();
                assert!(cells.arm(&mut armed, 1));
                let (mut short, mut all) = (0_u32, 0_u32);
                while !stop.load(Ordering::Relaxed) {
                    if let Some(call) = cells.take(&mut armed) {
                        all += 1;
                        short += u32::from(ticks::made_no_syscall(cells.run(&call), bar));
                        cells.answer(call, &mut armed, false);
                    }
                }
                while let Some(call) = cells.give_up(&mut armed) {
                    cells.run(&call);
                    cells.answer(call, &mut armed, true);
                }
                (short, all)
            })
        };
        let (mut x, mut answered) = (1_u64, 0);
        while answered < 10_000 {
            if let Ok(Ok(value)) = cells.call(move || x.wrapping_mul(3), Duration::from_millis(1)) {
                x = value | 1;
                answered += 1;
            }
        }
        stop.store(true, Ordering::Relaxed);
        let (short, all) = server.join().unwrap();
        assert_eq!(all, 10_000);
        assert!(
            short >= all / 10 * 9,
            "only {short} of {all} trivial bodies timed short"
        );
    }
}
