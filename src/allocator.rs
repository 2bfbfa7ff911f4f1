//! How the process allocates: glibc's thresholds for large buffers.
//!
//! A decoded original is one large buffer: 36 MB for a 12-megapixel JPEG
//! decoded whole. glibc gives a buffer above its mmap threshold (128 KiB,
//! raised as buffers are freed but never past 32 MiB) fresh pages from the
//! kernel and returns them when it is freed, so each such render makes the
//! kernel zero its pages again: 18 ms of system time in a 90 ms `width-1200`
//! of a 12-megapixel JPEG. [`reuse_large_buffers`] keeps buffers under
//! [`LARGE`] in glibc's arenas, for the next render to reuse.

/// Buffers up to this size come from glibc's arenas, and each arena keeps up
/// to this much freed memory for reuse instead of returning it at once.
pub const LARGE: usize = 64 << 20;

/// Raises glibc's mmap and trim thresholds to [`LARGE`], unless the operator
/// tuned them (`GLIBC_TUNABLES` with a `glibc.malloc.` setting, or
/// `MALLOC_MMAP_THRESHOLD_` / `MALLOC_TRIM_THRESHOLD_`). Call it before
/// threads start. Returns whether the thresholds were set.
pub fn reuse_large_buffers() -> bool {
    let tuned = std::env::var_os("GLIBC_TUNABLES").is_some_and(|t| t.to_string_lossy().contains("glibc.malloc."))
        || ["MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"]
            .iter()
            .any(|var| std::env::var_os(var).is_some());
    !tuned && set_thresholds()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn set_thresholds() -> bool {
    let large = libc::c_int::try_from(LARGE).unwrap_or(libc::c_int::MAX);
    // SAFETY: mallopt only sets two of glibc's allocation thresholds; any
    // value is valid for both, and it reports whether it took it.
    unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, large) == 1 && libc::mallopt(libc::M_TRIM_THRESHOLD, large) == 1 }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn set_thresholds() -> bool {
    false
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use std::hint::black_box;

    use super::*;

    /// Page faults of the calling thread so far.
    fn faults() -> i64 {
        // SAFETY: an all-zero rusage is valid, and getrusage writes it.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) };
        assert_eq!(rc, 0, "getrusage");
        usage.ru_minflt
    }

    #[test]
    fn a_freed_decode_sized_buffer_is_reused_without_new_pages() {
        assert!(reuse_large_buffers());
        // A 12-megapixel RGB image, written whole, as a decoder writes it.
        let len = 4000 * 3000 * 3;
        drop(black_box(vec![1u8; len]));
        let before = faults();
        drop(black_box(vec![2u8; len]));
        let new_pages = faults() - before;
        // Fresh pages would be one fault per 4 KiB page: 8,790.
        assert!(new_pages < 100, "{new_pages} page faults");
    }
}
