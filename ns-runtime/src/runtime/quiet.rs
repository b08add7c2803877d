//! How many looks for calls a runtime thread lets pass before it looks again at
//! the cell it just answered: tuned per thread, from the gaps between calls.
//!
//! A new call cannot reach the cell sooner than a round trip between the cores
//! after the answer (the caller must see the answer, then write). A look before
//! that finds nothing, and one that comes while the caller reads its answer and
//! writes its next call seems to take the cache line from it in the middle. How
//! much that costs depends on where the two threads run, which the thread
//! cannot see, and changes as the scheduler moves them. Measured back to back
//! on a 2-vCPU AMD EPYC (Zen 4) guest, with the thread letting 0, 1, 2, 3 or 4
//! of its looks (about a `PAUSE`, 25 ns, apart) pass the cell by:
//!
//! - cores whose round trip is 65 ns: 160, 180, 88, 118 and 137 ns a call;
//! - cores whose round trip is 35 ns: 133 ns at 0 looks, 174 ns at 2;
//! - cores whose round trip is 325 ns: 350 ns at 0 looks, 330 ns at 2.
//!
//! No number of looks suits every placement (on distant cores, when at most 4
//! were tried, 4 was the best), and the cost is not monotonic in the looks, so
//! the thread measures instead. It keeps the mean gap between an answer and
//! the next call it takes for each number of looks it tried ([`LOOKS`]), uses
//! the best, and tries another now and then (a short batch of calls after
//! every [`EXPLORE_EVERY`] batches, whose mean replaces the level's last;
//! mostly a neighbour of the best), which also notices when the best changed;
//! a batch at the best level far from its mean (the caller's loop changed, or
//! the threads moved) has every level measured again, the best's neighbours
//! first. With several callers, the gaps are between any two calls the thread
//! takes: the looks that make them shortest give the most calls a second. The
//! gaps come from the readings of the clock around each body that the thread
//! takes anyway (`ticks.rs`): no clock is read for this. Where there is no
//! clock, the thread looks at once.
//!
//! While a caller that spins for its answers calls back to back, the looks
//! follow each other with no pause between them (`TIGHT_LOOKS` in `latch.rs`),
//! a few nanoseconds apart: so the wait after an answer is tuned finely, and a
//! call is seen soon after it comes. With a `PAUSE` (25 ns here) between
//! looks, as in the figures above, the best level still left a call waiting
//! 12 ns on average: calls took 83–85 ns where they now take 70–77 ns (round
//! trip 64 ns). The levels run up to 128 looks (about 0.5 µs), more than the
//! longest wait measured (distant cores: ≈ 130 ns), finely where a few looks
//! matter and coarsely beyond. Otherwise (a caller that parks, a slow body,
//! calls that do not come back to back) the looks are a `PAUSE` apart, and at
//! most [`PAUSED_LOOKS`] of them pass the cell by, as before. A thread that
//! waited by spinning on the cycle counter instead made calls slower (124–150
//! ns against 95): each reading costs 9.5 ns here.

use super::ticks::{Span, Tick};

/// The numbers of looks tried, one per level.
const LOOKS: [u32; LEVELS] = [
    0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 64, 80, 96, 128,
];
const LEVELS: usize = 22;

/// The most looks that pass a cell by when they are a `PAUSE` apart (about
/// 0.3 µs here): more would reach the looks that yield the CPU between them.
pub(crate) const PAUSED_LOOKS: u32 = 11;

/// Calls in a batch at the best level, and in one that tries another (short:
/// another level may be much worse): each batch's mean gap is one
/// measurement of its level.
const BATCH: u32 = 256;
const TRIAL_BATCH: u32 = 32;

/// Calls left out at the start of a batch at another level than the last: the
/// two threads take a few calls to settle into the new timing.
const SETTLING: u32 = 8;

/// One batch in this many tries a level other than the best.
const EXPLORE_EVERY: u32 = 8;

/// A batch whose mean differs from its level's by more than 1/this of it
/// means the gaps changed: every level is measured again.
const CHANGED: u64 = 4;

/// Gaps of this many syscall bars (`ticks::syscall_bar`, ≈ 5 µs here) or more
/// are not calls back to back (the caller did something else, the thread slept
/// or moved to another target), and are left out of a batch's mean. A batch
/// with fewer than half its gaps back to back measures this long a gap for its
/// level: no level is kept, or tried again and again, because its calls stopped
/// coming back to back.
const BACK_TO_BACK_BARS: u64 = 64;

/// A thread's tuner of the looks to pass (see the module documentation).
#[derive(Default)]
pub(crate) struct Quiet {
    /// The level in use: [`LOOKS`]`[level]` looks pass after an answer.
    level: usize,
    /// When the last body ended.
    last_end: Option<Tick>,
    /// Calls so far in this batch (the first `SETTLING` of a batch at a new
    /// level are left out), and the back-to-back gaps among them: how many,
    /// and their sum.
    calls: u32,
    counted: u32,
    sum: u64,
    /// The batch tries another level than the best.
    trial: bool,
    /// Mean gap per level (ticks), until the gaps change.
    means: [Option<u64>; LEVELS],
    batches: u32,
    /// Trials so far, and the level the last of those far from the best tried
    /// (see [`Quiet::trial_level`]).
    turn: u32,
    far: usize,
}

/// The levels one and two either side of `level`, nearest first.
fn near(level: usize) -> impl Iterator<Item = usize> {
    [
        level.checked_sub(1),
        Some(level + 1),
        level.checked_sub(2),
        Some(level + 2),
    ]
    .into_iter()
    .flatten()
    .filter(|&near| near < LEVELS)
}

impl Quiet {
    /// After a body that ran for `body`: the looks to pass before looking at
    /// its cell again. `bar`: the syscall bar (0: no clock).
    pub(crate) fn after(&mut self, body: Span, bar: u64) -> u32 {
        if cfg!(loom) {
            // So that the models run through a look that passes a cell by.
            return 1;
        }
        if bar == 0 {
            return 0;
        }
        let Some(last_end) = self.last_end.replace(body.1) else {
            return LOOKS[self.level];
        };
        self.calls += 1;
        let gap = body.0.since(last_end);
        let longest = bar.saturating_mul(BACK_TO_BACK_BARS);
        if self.calls > SETTLING && gap < longest {
            self.counted += 1;
            self.sum += gap;
        }
        if self.calls == SETTLING + if self.trial { TRIAL_BATCH } else { BATCH } {
            self.end_batch(longest);
        }
        LOOKS[self.level]
    }

    /// `longest`: the gap at which calls are not back to back.
    fn end_batch(&mut self, longest: u64) {
        let batch_calls = self.calls - SETTLING;
        self.measured(if self.counted * 2 >= batch_calls {
            self.sum / u64::from(self.counted)
        } else {
            longest // (at least)
        });
        (self.calls, self.counted, self.sum) = (0, 0, 0);
        self.batches += 1;
        let best = self.best();
        let was = self.level;
        let unmeasured_near = near(best).find(|&level| self.means[level].is_none());
        self.level = match unmeasured_near {
            Some(level) => level,
            None if self.batches % EXPLORE_EVERY == 0 => self.trial_level(best),
            None => best,
        };
        self.trial = self.level != best;
        if self.level == was {
            self.calls = SETTLING; // nothing to settle
        }
    }

    /// The level a trial tries: by turns, the best's neighbours (one and two
    /// levels either side) four times in five, and every other level in turn
    /// the fifth (those cost more to try: further from the best, most are much
    /// worse).
    fn trial_level(&mut self, best: usize) -> usize {
        loop {
            self.turn += 1;
            if self.turn % 5 != 0 {
                if let Some(level) = near(best).nth(self.turn as usize % 5 - 1) {
                    return level;
                }
                continue;
            }
            self.far = (self.far + 1) % LEVELS;
            if self.far != best {
                return self.far;
            }
        }
    }

    /// Takes a batch's mean gap at the level in use.
    fn measured(&mut self, mean: u64) {
        let known = &mut self.means[self.level];
        match *known {
            // A trial replaces what its level measured last, which may be
            // stale.
            _ if self.trial => *known = Some(mean),
            Some(known) if mean.abs_diff(known) > known / CHANGED => {
                // The best level's gaps changed (the caller's loop, or where
                // the threads run): what the others measured no longer holds.
                // (Its neighbours are measured next; the others in their turn.)
                self.means = [None; LEVELS];
                self.means[self.level] = Some(mean);
            }
            // Half the weight to the newest batch.
            Some(earlier) => *known = Some((earlier + mean) / 2),
            None => *known = Some(mean),
        }
    }

    /// The level with the shortest mean gap (the one in use while none is
    /// measured).
    fn best(&self) -> usize {
        (0..LEVELS)
            .filter_map(|level| Some((self.means[level]?, level)))
            .min()
            .map_or(self.level, |(_, level)| level)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    const BAR: u64 = 100;

    /// A thread whose calls come after a gap that depends on its looks.
    #[derive(Default)]
    struct Thread {
        quiet: Quiet,
        clock: u64,
        looks: u32,
    }

    impl Thread {
        /// Runs `calls` calls of 10-tick bodies, each after the gap `gap(looks)`
        /// for the looks chosen after the last; returns how often it chose
        /// each level.
        fn run(&mut self, calls: u32, gap: impl Fn(u32) -> u64) -> [u32; LEVELS] {
            let mut chosen = [0; LEVELS];
            for _ in 0..calls {
                let began = self.clock + gap(self.looks);
                self.clock = began + 10;
                self.looks = self
                    .quiet
                    .after(Span(Tick::at(began), Tick::at(self.clock)), BAR);
                chosen[level(self.looks)] += 1;
            }
            chosen
        }
    }

    /// The level of `looks`.
    fn level(looks: u32) -> usize {
        LOOKS
            .iter()
            .position(|&l| l == looks)
            .expect("a level's looks")
    }

    /// As measured between neighbouring cores: best at two looks, and not
    /// monotonic (one look is worse than none).
    fn neighbours(looks: u32) -> u64 {
        match looks {
            0..=3 => [340, 360, 220, 290][looks as usize],
            _ => 300 + 20 * u64::from(looks),
        }
    }

    #[test]
    fn the_thread_settles_on_the_looks_with_the_shortest_gaps_and_soon_follows_a_change() {
        let mut thread = Thread::default();
        thread.run(5_000, neighbours);
        let chosen = thread.run(100_000, neighbours);
        assert!(chosen[level(2)] > 95_000, "{chosen:?}");
        // The placement changes: now looking at once is best. Within the
        // calls of a trial of every level, the thread looks at once.
        let siblings = |looks: u32| 130 + 20 * u64::from(looks);
        thread.run(EXPLORE_EVERY * LEVELS as u32 * BATCH, siblings);
        let chosen = thread.run(100_000, siblings);
        assert!(chosen[level(0)] > 95_000, "{chosen:?}");
    }

    #[test]
    fn a_best_level_far_from_the_others_is_found_in_its_turn() {
        let mut thread = Thread::default();
        let dip = |looks: u32| if looks == 40 { 150 } else { 300 };
        thread.run(200 * LEVELS as u32 * BATCH, dip);
        let chosen = thread.run(100_000, dip);
        assert!(chosen[level(40)] > 90_000, "{chosen:?}");
    }

    #[test]
    fn gaps_that_are_not_back_to_back_are_left_out_and_keep_no_level() {
        // Calls that never come back to back: batches end, nothing measured.
        let mut thread = Thread::default();
        let chosen = thread.run(10_000, |_| BAR * BACK_TO_BACK_BARS);
        let longest = Some(BAR * BACK_TO_BACK_BARS);
        let means = thread.quiet.means;
        assert!(
            means.iter().all(|&mean| mean.is_none() || mean == longest),
            "{means:?}"
        );
        assert!(chosen[level(0)] > 9_000, "{chosen:?}");
        // A level whose calls stop coming back to back is not kept for it.
        let mut thread = Thread::default();
        let chosen = thread.run(200_000, |looks| match looks {
            3 => BAR * BACK_TO_BACK_BARS,
            _ => neighbours(looks),
        });
        assert!(chosen[level(3)] < 2_000, "{chosen:?}");
        assert!(chosen[level(2)] > 180_000, "{chosen:?}");
    }

    #[test]
    fn without_a_clock_the_thread_looks_at_once() {
        let span = Span(Tick::at(0), Tick::at(0));
        assert_eq!(Quiet::default().after(span, 0), 0);
    }
}
