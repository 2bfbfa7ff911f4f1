//! How the process allocates: glibc's thresholds for large buffers, and its
//! number of arenas.
//!
//! A decoded original is one large buffer: 36 MB for a 12-megapixel JPEG
//! decoded whole. glibc gives a buffer above its mmap threshold (128 KiB,
//! raised as buffers are freed but never past 32 MiB) fresh pages from the
//! kernel and returns them when it is freed, so each such render makes the
//! kernel zero its pages again: 18 ms of system time in a 90 ms `width-1200`
//! of a 12-megapixel JPEG. [`reuse_large_buffers`] keeps buffers under
//! [`LARGE`] in glibc's arenas, for the next render to reuse, and
//! [`limit_arenas`] bounds how many arenas keep them.

/// Buffers up to this size come from glibc's arenas, and each arena keeps up
/// to this much freed memory for reuse instead of returning it at once.
pub const LARGE: usize = 64 << 20;

/// Raises glibc's mmap and trim thresholds to [`LARGE`], unless the operator
/// set either (`GLIBC_TUNABLES` with `glibc.malloc.mmap_threshold` or
/// `glibc.malloc.trim_threshold`, or `MALLOC_MMAP_THRESHOLD_` /
/// `MALLOC_TRIM_THRESHOLD_`). Call it before threads start. Returns whether
/// the thresholds were set.
pub fn reuse_large_buffers() -> bool {
    !operator_set(
        &["mmap_threshold", "trim_threshold"],
        &["MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"],
    ) && set(&[(Setting::MmapThreshold, LARGE), (Setting::TrimThreshold, LARGE)])
}

/// Limits glibc to one arena per render worker (at least two) instead of
/// eight per core, unless the operator set it (`glibc.malloc.arena_max` or
/// `MALLOC_ARENA_MAX`): each arena may keep up to [`LARGE`] of freed memory,
/// and the threads that read originals and run renders are many more than
/// the cores. Call it before threads start. Returns whether it was set.
pub fn limit_arenas(workers: usize) -> bool {
    !operator_set(&["arena_max"], &["MALLOC_ARENA_MAX"]) && set(&[(Setting::ArenaMax, workers.max(2))])
}

/// Whether the environment sets one of glibc's malloc `tunables` (through
/// `GLIBC_TUNABLES`) or one of the older `variables`.
fn operator_set(tunables: &[&str], variables: &[&str]) -> bool {
    std::env::var_os("GLIBC_TUNABLES").is_some_and(|t| names_tunable(&t.to_string_lossy(), tunables))
        || variables.iter().any(|var| std::env::var_os(var).is_some())
}

/// Whether a `GLIBC_TUNABLES` value (`name=value:name=value`) sets one of
/// the `glibc.malloc.` `tunables`.
fn names_tunable(glibc_tunables: &str, tunables: &[&str]) -> bool {
    glibc_tunables.split(':').any(|pair| {
        let name = pair.split_once('=').map_or(pair, |(name, _)| name);
        name.trim()
            .strip_prefix("glibc.malloc.")
            .is_some_and(|n| tunables.contains(&n))
    })
}

/// One of glibc's `mallopt` parameters.
#[derive(Clone, Copy)]
enum Setting {
    MmapThreshold,
    TrimThreshold,
    ArenaMax,
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn set(settings: &[(Setting, usize)]) -> bool {
    settings.iter().all(|&(setting, value)| {
        let parameter = match setting {
            Setting::MmapThreshold => libc::M_MMAP_THRESHOLD,
            Setting::TrimThreshold => libc::M_TRIM_THRESHOLD,
            Setting::ArenaMax => libc::M_ARENA_MAX,
        };
        let value = libc::c_int::try_from(value).unwrap_or(libc::c_int::MAX);
        // SAFETY: mallopt only sets one of glibc's allocation parameters;
        // any value is valid for these three, and it reports whether it
        // took it.
        unsafe { libc::mallopt(parameter, value) == 1 }
    })
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn set(_settings: &[(Setting, usize)]) -> bool {
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

#[cfg(test)]
mod parse_tests {
    use super::names_tunable;

    #[test]
    fn an_operators_tunable_is_recognised_by_its_exact_name() {
        let thresholds = ["mmap_threshold", "trim_threshold"];
        assert!(names_tunable("glibc.malloc.mmap_threshold=4194304", &thresholds));
        assert!(names_tunable(
            "glibc.malloc.arena_max=2:glibc.malloc.trim_threshold=0",
            &thresholds
        ));
        assert!(!names_tunable("glibc.malloc.arena_max=2", &thresholds));
        assert!(names_tunable("glibc.malloc.arena_max=2", &["arena_max"]));
        assert!(!names_tunable("glibc.malloc.mmap_threshold_x=1", &thresholds));
        assert!(!names_tunable("glibc.pthread.mutex_spin_count=1", &thresholds));
        assert!(!names_tunable("", &thresholds));
    }
}
