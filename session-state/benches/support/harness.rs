//! The machine-readable side of the workspace's bench binaries, shared by the benches of
//! `session-state`, `session-services` and `session-core` (the other crates include this file
//! with `#[path]`).
//!
//! `cargo bench` runs the binaries through divan for humans. `cargo xtask bench` runs them with
//! `SESSION_BENCH_JSON=1` instead: each binary then times its figures itself (N samples, median,
//! min, max) and prints one JSON object per figure on stdout, which xtask turns into its report.
//! A counting global allocator measures heap bytes (current and peak) inside a window.
//!
//! It measures and prints; it must never judge a number (targets live in xtask) nor assert on
//! one.

#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Whether xtask asked for one JSON object per figure instead of divan's table.
pub(crate) fn json_mode() -> bool {
    std::env::var_os("SESSION_BENCH_JSON").is_some_and(|v| v == "1")
}

/// Whether the large sizes (`cargo xtask bench --full`) are wanted.
pub(crate) fn full_mode() -> bool {
    std::env::var_os("SESSION_BENCH_FULL").is_some_and(|v| v == "1")
}

/// Samples per figure: fewer in quick mode.
pub(crate) fn samples(quick: usize, full: usize) -> usize {
    if full_mode() { full } else { quick }
}

// ---------------------------------------------------------------------------------------------
// Counting allocator

/// A global allocator that forwards to the system allocator and, while a [`HeapWindow`] is
/// open, counts live bytes, their peak and the number of allocations.
///
/// Outside a window it costs one relaxed load per call, so timed figures are not skewed.
pub(crate) struct CountingAlloc;

static COUNTING: AtomicBool = AtomicBool::new(false);
/// Live bytes allocated since the window opened, minus bytes freed (may go negative when
/// older blocks are freed).
static CURRENT: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

fn grew(bytes: usize) {
    let bytes = isize::try_from(bytes).unwrap_or(isize::MAX);
    let now = CURRENT.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

fn shrank(bytes: usize) {
    let bytes = isize::try_from(bytes).unwrap_or(isize::MAX);
    CURRENT.fetch_sub(bytes, Ordering::Relaxed);
}

// SAFETY: every call is forwarded unchanged to `System`; the counters never touch memory.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() && COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
            grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() && COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
            grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) };
        if COUNTING.load(Ordering::Relaxed) {
            shrank(layout.size());
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as ours.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() && COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
            grew(new_size);
            shrank(layout.size());
        }
        new
    }
}

/// Heap use counted from the moment the window opened. One window at a time per process.
pub(crate) struct HeapWindow(());

/// What a [`HeapWindow`] saw.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeapUse {
    /// Bytes still live at the end that were allocated in the window, net of frees.
    pub(crate) net: isize,
    /// Highest net live bytes at any moment of the window.
    pub(crate) peak: isize,
    /// Allocations (and reallocations) made in the window.
    pub(crate) allocations: u64,
}

impl HeapWindow {
    /// Start counting from zero.
    pub(crate) fn open() -> Self {
        CURRENT.store(0, Ordering::SeqCst);
        PEAK.store(0, Ordering::SeqCst);
        ALLOCATIONS.store(0, Ordering::SeqCst);
        COUNTING.store(true, Ordering::SeqCst);
        Self(())
    }

    /// Stop counting and say what was seen.
    pub(crate) fn close(self) -> HeapUse {
        COUNTING.store(false, Ordering::SeqCst);
        HeapUse {
            net: CURRENT.load(Ordering::SeqCst),
            peak: PEAK.load(Ordering::SeqCst),
            allocations: ALLOCATIONS.load(Ordering::SeqCst),
        }
    }
}

/// This process's resident set size, from `/proc/self/status` (Linux), in bytes.
pub(crate) fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

// ---------------------------------------------------------------------------------------------
// Timing

/// Time `run` on a fresh input from `setup` (untimed) `samples` times; the output is dropped
/// outside the timing. Returns seconds per sample.
pub(crate) fn time_with<I, O>(
    samples: usize,
    mut setup: impl FnMut() -> I,
    mut run: impl FnMut(I) -> O,
) -> Vec<f64> {
    let mut out = Vec::with_capacity(samples);
    for _ in 0..samples.max(1) {
        let input = setup();
        let started = Instant::now();
        let output = run(input);
        out.push(started.elapsed().as_secs_f64());
        drop(std::hint::black_box(output));
    }
    out
}

/// Time `run` `samples` times, each sample being `iters` back-to-back calls; returns seconds
/// per call.
pub(crate) fn time_iters<O>(samples: usize, iters: usize, mut run: impl FnMut() -> O) -> Vec<f64> {
    let iters = iters.max(1);
    let mut out = Vec::with_capacity(samples);
    for _ in 0..samples.max(1) {
        let started = Instant::now();
        for _ in 0..iters {
            std::hint::black_box(run());
        }
        out.push(started.elapsed().as_secs_f64() / iters as f64);
    }
    out
}

/// How many calls of about `per_call` fit in `budget` (at least one).
pub(crate) fn iters_for(per_call: Duration, budget: Duration) -> usize {
    let per = per_call.as_secs_f64().max(1e-9);
    ((budget.as_secs_f64() / per) as usize).max(1)
}

/// Median, min and max of `values` (sorted copy).
pub(crate) fn stats(values: &[f64]) -> (f64, f64, f64) {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    let median = if v.len().is_multiple_of(2) {
        (v[mid - 1] + v[mid]) / 2.0
    } else {
        v[mid]
    };
    (median, v[0], v[v.len() - 1])
}

// ---------------------------------------------------------------------------------------------
// Output

/// The unit of a figure's numbers, as xtask reads it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Unit {
    /// Seconds (lower is better).
    Seconds,
    /// Things per second (higher is better); the label names the things.
    PerSecond(&'static str),
    /// Bytes per second (higher is better).
    BytesPerSecond,
    /// Bytes.
    Bytes,
    /// A plain number (ratio, count).
    Number,
}

impl Unit {
    fn name(self) -> &'static str {
        match self {
            Unit::Seconds => "s",
            Unit::PerSecond(_) => "per_s",
            Unit::BytesPerSecond => "B/s",
            Unit::Bytes => "B",
            Unit::Number => "number",
        }
    }
}

/// One figure, printed as one JSON line for xtask.
pub(crate) struct Figure {
    id: &'static str,
    size: String,
    unit: Unit,
    median: f64,
    min: f64,
    max: f64,
    samples: usize,
    note: String,
}

impl Figure {
    /// Timings in seconds per sample.
    pub(crate) fn times(id: &'static str, size: impl Into<String>, seconds: &[f64]) -> Self {
        let (median, min, max) = stats(seconds);
        Self {
            id,
            size: size.into(),
            unit: Unit::Seconds,
            median,
            min,
            max,
            samples: seconds.len(),
            note: String::new(),
        }
    }

    /// A rate: `count` things (or bytes, per `unit`) done in each sample of `seconds`. The
    /// slowest sample gives the min rate.
    pub(crate) fn rate(
        id: &'static str,
        size: impl Into<String>,
        unit: Unit,
        count: f64,
        seconds: &[f64],
    ) -> Self {
        let (median, fastest, slowest) = stats(seconds);
        Self {
            id,
            size: size.into(),
            unit,
            median: count / median,
            min: count / slowest,
            max: count / fastest,
            samples: seconds.len(),
            note: String::new(),
        }
    }

    /// A single value (a ratio, a count, a size).
    pub(crate) fn value(id: &'static str, size: impl Into<String>, unit: Unit, value: f64) -> Self {
        Self {
            id,
            size: size.into(),
            unit,
            median: value,
            min: value,
            max: value,
            samples: 1,
            note: String::new(),
        }
    }

    /// Several values of the same quantity (one per run).
    pub(crate) fn values(
        id: &'static str,
        size: impl Into<String>,
        unit: Unit,
        values: &[f64],
    ) -> Self {
        let (median, min, max) = stats(values);
        Self {
            id,
            size: size.into(),
            unit,
            median,
            min,
            max,
            samples: values.len(),
            note: String::new(),
        }
    }

    /// Add a note (how the number was obtained, what it proves).
    pub(crate) fn note(mut self, note: impl Into<String>) -> Self {
        self.note = note.into();
        self
    }

    /// Print the figure as one JSON line on stdout.
    pub(crate) fn emit(self) {
        let label = match self.unit {
            Unit::PerSecond(label) => label,
            _ => "",
        };
        let line = serde_json::json!({
            "id": self.id,
            "size": self.size,
            "unit": self.unit.name(),
            "label": label,
            "median": finite(self.median),
            "min": finite(self.min),
            "max": finite(self.max),
            "samples": self.samples,
            "note": self.note,
        });
        println!("{line}");
    }
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// `1_000` → `1k`, `1_000_000` → `1M`, for the size column.
pub(crate) fn short(n: usize) -> String {
    if n >= 1_000_000 && n.is_multiple_of(1_000_000) {
        format!("{}M", n / 1_000_000)
    } else if n >= 1_000 && n.is_multiple_of(1_000) {
        format!("{}k", n / 1_000)
    } else {
        n.to_string()
    }
}
