//! A counting global allocator for one test binary, counting per thread
//! (the harness's own threads allocate too): allocations, live bytes and
//! their high-water mark; and live bytes of the whole process, for tests
//! whose work runs on other threads (a tokio runtime's). Tests that use it
//! run one at a time under [`LOCK`].
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Mutex;

pub(crate) struct Counting;

thread_local! {
    // Const-initialised and without a destructor, so using it inside the
    // allocator cannot recurse into the allocator.
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
    // Bytes live and their high-water mark, for this thread's allocations.
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn count() {
    ALLOCS.with(|c| c.set(c.get() + 1));
}

/// Bytes live in the whole process, every thread's allocations.
static PROCESS_LIVE: AtomicIsize = AtomicIsize::new(0);

fn live(delta: isize) {
    PROCESS_LIVE.fetch_add(delta, Ordering::Relaxed);
    let now = LIVE.with(|l| {
        l.set(l.get() + delta);
        l.get()
    });
    PEAK.with(|p| p.set(p.get().max(now)));
}
pub(crate) static LOCK: Mutex<()> = Mutex::new(());

// SAFETY: every call is forwarded unchanged to the system allocator, which
// upholds `GlobalAlloc`'s contract; the counters only read the layout.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        live(layout.size() as isize);
        // SAFETY: forwarded with the caller's layout, as `alloc` requires.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        live(-(layout.size() as isize));
        // SAFETY: `ptr` came from `System` with this layout (every
        // allocation here is forwarded to it).
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        live(new_size as isize - layout.size() as isize);
        // SAFETY: as for `dealloc`; `new_size` is the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

pub(crate) fn allocations<R>(f: impl FnOnce() -> R) -> (usize, R) {
    let before = ALLOCS.with(Cell::get);
    let r = f();
    (ALLOCS.with(Cell::get) - before, r)
}

/// The most heap `f` held at once above what was live when it started.
pub(crate) fn peak_heap<R>(f: impl FnOnce() -> R) -> (usize, R) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let r = f();
    ((PEAK.with(Cell::get) - base) as usize, r)
}

/// Live heap now, on this thread.
pub(crate) fn live_now() -> isize {
    LIVE.with(Cell::get)
}

/// Live heap now, in the whole process.
pub(crate) fn live_in_process() -> isize {
    PROCESS_LIVE.load(Ordering::Relaxed)
}
