//! How many looks for calls a runtime thread lets pass before it looks again at
//! the cell it just answered: tuned per thread, from the gaps between calls.
//!
//! A new call cannot reach the cell sooner than a round trip between the cores
//! after the answer (the caller must see the answer, then write). A look before
//! that finds nothing, and one that comes while the caller reads its answer and
//! writes its next call seems to take the cache line from it in the middle. How
//! much that costs depends on where the two threads run, which the thread
//! cannot see, and changes as the scheduler moves them. Measured back to back
//! on a 2-vCPU AMD EPYC (Zen 4) guest, with the thread looking again 0, 1, 2, 3
//! or 4 looks (a `PAUSE` each, 25 ns) after its answer:
//!
//! - cores whose round trip is 65 ns: 160, 180, 88, 118 and 137 ns a call;
//! - cores whose round trip is 35 ns: 133 ns at 0 looks, 174 ns at 2;
//! - cores whose round trip is 325 ns: 350 ns at 0 looks, 330 ns at 2.
//!
//! No number of looks suits every placement, and the cost is not monotonic in
//! the looks, so the thread measures instead. It keeps the mean gap between an
//! answer and the next call it takes for each number of looks it tried, uses
//! the best, and tries another now and then (a short batch of calls after every
//! [`EXPLORE_EVERY`] batches), which also notices when the best changed. With
//! several callers, the gaps are between any two calls the thread takes: the
//! looks that make them shortest give the most calls a second. The gaps come
//! from the readings of the clock around each body that the thread takes
//! anyway (`ticks.rs`): no clock is read for this. Where there is no clock,
//! the thread looks at once.

use super::ticks::{Span, Tick};

/// The numbers of looks tried: `0..LEVELS`.
const LEVELS: usize = 5;

/// Calls in a batch at the best level, and in one that tries another (short:
/// another level may be much worse): each batch's mean gap is one
/// measurement of its level.
const BATCH: u32 = 256;
const TRIAL_BATCH: u32 = 64;

/// Gaps left out at the start of a batch at another level than the last: the
/// two threads take a few calls to settle into the new timing.
const SETTLING: u32 = 8;

/// One batch in this many tries a level other than the best.
const EXPLORE_EVERY: u32 = 16;

/// Gaps longer than this many syscall bars (`ticks::syscall_bar`) are not
/// calls back to back (the caller did something else, or the thread slept):
/// they say nothing about the looks, and are left out.
const BACK_TO_BACK_BARS: u64 = 16;

/// A thread's tuner of the looks to pass (see the module documentation).
#[derive(Default)]
pub(crate) struct Quiet {
    /// The level in use: looks to pass after an answer.
    looks: usize,
    /// When the last body ended.
    last_end: Option<Tick>,
    /// The batch so far: back-to-back gaps (counting those left out while
    /// settling), and the sum of those counted.
    calls: u32,
    sum: u64,
    /// The batch tries another level than the best.
    trial: bool,
    /// Mean gap per level (ticks), 0 until measured.
    means: [u64; LEVELS],
    batches: u32,
    /// The next level to try when exploring.
    next_try: usize,
}

impl Quiet {
    /// After a body that ran for `body`: the looks to pass before looking at
    /// its cell again. `bar`: the syscall bar (0: no clock).
    pub(crate) fn after(&mut self, body: Span, bar: u64) -> u32 {
        if cfg!(loom) || bar == 0 {
            return 0;
        }
        if let Some(last_end) = self.last_end.replace(body.1) {
            let gap = body.0.since(last_end);
            if gap < bar.saturating_mul(BACK_TO_BACK_BARS) {
                self.calls += 1;
                if self.calls > SETTLING {
                    self.sum += gap;
                }
                if self.calls == SETTLING + if self.trial { TRIAL_BATCH } else { BATCH } {
                    self.end_batch();
                }
            }
        }
        self.looks as u32
    }

    fn end_batch(&mut self) {
        let mean = self.sum / u64::from(self.calls - SETTLING);
        let known = &mut self.means[self.looks];
        // Half the weight to the newest batch: placements change.
        *known = if *known == 0 {
            mean
        } else {
            (*known + mean) / 2
        };
        (self.calls, self.sum) = (0, 0);
        self.batches += 1;
        let best = self.best();
        let unmeasured = self.means.iter().position(|&mean| mean == 0);
        let was = self.looks;
        self.looks = match unmeasured {
            Some(level) => level,
            None if self.batches % EXPLORE_EVERY == 0 => {
                let mut level = self.next_try % LEVELS;
                if level == best {
                    level = (level + 1) % LEVELS;
                }
                self.next_try = level + 1;
                level
            }
            None => best,
        };
        self.trial = self.looks != best;
        if self.looks == was {
            self.calls = SETTLING; // nothing to settle
        }
    }

    fn best(&self) -> usize {
        (0..LEVELS)
            .filter(|&level| self.means[level] != 0)
            .min_by_key(|&level| self.means[level])
            .unwrap_or(0)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    const BAR: u64 = 100;

    /// Feeds `calls` calls of 10-tick bodies to `quiet`, each after the gap
    /// `gap(looks)` for the looks it chose; returns how often it chose each.
    fn run(
        quiet: &mut Quiet,
        clock: &mut u64,
        calls: u32,
        gap: impl Fn(u32) -> u64,
    ) -> [u32; LEVELS] {
        let mut chosen = [0; LEVELS];
        let mut looks = 0;
        for _ in 0..calls {
            let began = *clock + gap(looks);
            *clock = began + 10;
            looks = quiet.after(Span(Tick::at(began), Tick::at(*clock)), BAR);
            chosen[looks as usize] += 1;
        }
        chosen
    }

    #[test]
    fn the_thread_settles_on_the_looks_with_the_shortest_gaps_and_follows_a_change() {
        let (mut quiet, mut clock) = (Quiet::default(), 0);
        // As measured between neighbouring cores: best at two looks, and not
        // monotonic (one look is worse than none).
        let neighbours = |looks: u32| [340, 360, 220, 290, 380][looks as usize];
        run(&mut quiet, &mut clock, 20_000, neighbours);
        let chosen = run(&mut quiet, &mut clock, 100_000, neighbours);
        assert!(chosen[2] > 95_000, "{chosen:?}");
        // The placement changes: now looking at once is best.
        let siblings = |looks: u32| [130, 150, 170, 190, 210][looks as usize];
        run(&mut quiet, &mut clock, 100_000, siblings);
        let chosen = run(&mut quiet, &mut clock, 100_000, siblings);
        assert!(chosen[0] > 95_000, "{chosen:?}");
    }

    #[test]
    fn gaps_between_calls_that_are_not_back_to_back_and_bodies_without_a_clock_count_for_nothing() {
        let (mut quiet, mut clock) = (Quiet::default(), 0);
        let chosen = run(&mut quiet, &mut clock, 10_000, |_| BAR * BACK_TO_BACK_BARS);
        assert_eq!(chosen[0], 10_000, "no batch ended: still the first level");
        assert_eq!(quiet.means, [0; LEVELS]);
        let span = Span(Tick::at(0), Tick::at(0));
        assert_eq!(quiet.after(span, 0), 0);
    }
}
