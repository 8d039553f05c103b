//! How both binaries of the harness (the tables and the fairness check)
//! turn two rows' rounds of timings into one ratio.

use std::time::Duration;

/// How many times faster the row timed `row` ran than the row timed
/// `other`: the median over rounds of the ratio within each round, so that
/// both times of a ratio were taken under the same conditions. This
/// machine's speed shifts for stretches of a fraction of a second to
/// seconds (a neighbour on the host; in one process a bare memchr over a
/// cached 16 KiB ran at 24-35 GB/s by stretches); two medians taken apart,
/// each picked from its own rounds, could each fall in a different stretch.
/// Rounds are paired by position; `None` when there is no pair.
pub fn times_faster(row: &[Duration], other: &[Duration]) -> Option<f64> {
    let mut ratios: Vec<f64> = row
        .iter()
        .zip(other)
        .map(|(a, b)| b.as_secs_f64() / a.as_secs_f64())
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios.get(ratios.len() / 2).copied()
}
