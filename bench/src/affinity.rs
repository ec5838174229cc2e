//! Pinning a thread to one CPU, for benchmarks whose figure depends on
//! whether two threads share a core.

use std::io;

/// The CPUs the calling thread may run on.
fn allowed_cpus() -> io::Result<libc::cpu_set_t> {
    // SAFETY: cpu_set_t is a plain bit array; all zeroes is a valid value.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid cpu_set_t of the size passed, which the
    // kernel writes during the call only.
    let rc = unsafe { libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut set) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(set)
}

/// Lets the calling thread run on the CPUs in `set` only.
fn set_allowed_cpus(set: &libc::cpu_set_t) -> io::Result<()> {
    // SAFETY: `set` is a valid cpu_set_t of the size passed, which the
    // kernel only reads during the call.
    let rc = unsafe { libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), set) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Pins the calling thread to CPU `cpu`. Fails if the thread may not run
/// there (no such CPU, or one outside the process's cpuset).
pub fn pin_current_thread(cpu: usize) -> io::Result<()> {
    if cpu >= libc::CPU_SETSIZE as usize {
        return Err(io::Error::other(format!("no CPU {cpu}")));
    }
    // SAFETY: cpu_set_t is a plain bit array; all zeroes is the empty set.
    let mut only = unsafe { std::mem::zeroed() };
    // SAFETY: `cpu` is below the set's size (checked above).
    unsafe { libc::CPU_SET(cpu, &mut only) };
    set_allowed_cpus(&only)
}

/// Runs `f` with the calling thread pinned to CPU `cpu`, then lets the
/// thread run where it could before.
pub fn with_current_thread_on<R>(cpu: usize, f: impl FnOnce() -> R) -> io::Result<R> {
    let before = allowed_cpus()?;
    pin_current_thread(cpu)?;
    let result = f();
    set_allowed_cpus(&before)?;
    Ok(result)
}
