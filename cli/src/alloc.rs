//! The allocator: mimalloc for the journal's commands, the system's for the
//! relay.
//!
//! Loading a big vault's Automerge document allocates and frees in bursts,
//! and with mimalloc it takes a fifth less time than with glibc's malloc
//! (docs/benchmarks.md, figure 4). The relay (`interlog relay`) is the other
//! way round: with mimalloc an idle connection held 61 KiB instead of 14,
//! mostly because mimalloc asks for transparent huge pages; with those
//! turned off in the relay (`prctl(PR_SET_THP_DISABLE)` at its start) it
//! still held 18 KiB against 14 on the system's allocator, measured back to
//! back, and 5 MiB more before any device connected (docs/benchmarks.md,
//! "Issue 17"). So the relay keeps the system's allocator, and the choice
//! below stays.
//!
//! Memory must go back to the allocator it came from, so the choice is made
//! once, before anything is allocated, and never changes. glibc hands the
//! program's arguments to the functions in `.init_array`, which run before
//! `main` (std picks up its own arguments the same way), and one of those
//! makes the choice. Anything allocated before it would settle the choice on
//! the system's allocator for good. Elsewhere than on Linux with glibc this
//! module is not built, and the system's allocator is the only one.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU8, Ordering::Relaxed};

use mimalloc::MiMalloc;

const UNDECIDED: u8 = 0;
const SYSTEM: u8 = 1;
const MIMALLOC: u8 = 2;

static CHOICE: AtomicU8 = AtomicU8::new(UNDECIDED);

pub struct Allocator;

impl Allocator {
    /// Whether to use mimalloc; the first allocation settles an undecided
    /// choice on the system's allocator.
    #[inline]
    fn mimalloc() -> bool {
        match CHOICE.load(Relaxed) {
            MIMALLOC => true,
            SYSTEM => false,
            _ => CHOICE
                .compare_exchange(UNDECIDED, SYSTEM, Relaxed, Relaxed)
                .is_err_and(|now| now == MIMALLOC),
        }
    }
}

// SAFETY: every call goes to one allocator for the life of the process (see
// the module's documentation), which then meets GlobalAlloc's contract.
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if Self::mimalloc() {
            MiMalloc.alloc(layout)
        } else {
            System.alloc(layout)
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if Self::mimalloc() {
            MiMalloc.alloc_zeroed(layout)
        } else {
            System.alloc_zeroed(layout)
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if Self::mimalloc() {
            MiMalloc.dealloc(ptr, layout)
        } else {
            System.dealloc(ptr, layout)
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if Self::mimalloc() {
            MiMalloc.realloc(ptr, layout, new_size)
        } else {
            System.realloc(ptr, layout, new_size)
        }
    }
}

/// Whether these arguments (without the program's name) may run the relay:
/// any argument `relay`. A company named "relay" only costs that command
/// the faster allocator.
fn may_run_relay<'a>(mut args: impl Iterator<Item = &'a [u8]>) -> bool {
    args.any(|a| a == b"relay")
}

#[used]
#[link_section = ".init_array"]
static CHOOSE: extern "C" fn(
    std::ffi::c_int,
    *const *const std::ffi::c_char,
    *const *const std::ffi::c_char,
) = choose;

extern "C" fn choose(
    argc: std::ffi::c_int,
    argv: *const *const std::ffi::c_char,
    _env: *const *const std::ffi::c_char,
) {
    if argv.is_null() {
        return;
    }
    let args = (1..usize::try_from(argc).unwrap_or(0)).filter_map(|i| {
        // SAFETY: glibc passes the process's own argc and argv, which stay
        // valid for its whole life; a null entry is skipped.
        let arg = unsafe { *argv.add(i) };
        // SAFETY: a non-null argv entry is a NUL-terminated string.
        (!arg.is_null()).then(|| unsafe { std::ffi::CStr::from_ptr(arg) }.to_bytes())
    });
    let choice = if may_run_relay(args) {
        SYSTEM
    } else {
        MIMALLOC
    };
    let _ = CHOICE.compare_exchange(UNDECIDED, choice, Relaxed, Relaxed);
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_commands_that_may_run_the_relay_keep_the_system_allocator() {
        let relay = |args: &[&str]| super::may_run_relay(args.iter().map(|a| a.as_bytes()));
        assert!(relay(&["relay", "--listen", "127.0.0.1:7878"]));
        assert!(relay(&["--home", "/h", "relay", "invite"]));
        assert!(!relay(&["log", "Acme", "--kind", "technical"]));
        assert!(!relay(&["sync", "--relay", "ws://127.0.0.1:7878"]));
        assert!(!relay(&[]));
    }

    #[test]
    fn this_process_chose_before_it_allocated() {
        // The choice was made before main, from this test binary's own
        // arguments (a test filter may be `relay`), not settled by an
        // allocation.
        let relay = std::env::args().skip(1).any(|a| a == "relay");
        let expected = if relay {
            super::SYSTEM
        } else {
            super::MIMALLOC
        };
        assert_eq!(super::CHOICE.load(super::Relaxed), expected);
    }
}
