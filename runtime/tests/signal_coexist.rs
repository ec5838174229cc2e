//! Signal handlers that coexist: a library's handler installed before
//! the runtime's still runs, and one installed after it (chaining, as
//! signal-hook-registry does) still lets the runtime see the signal.
//!
//! Handlers are process-wide, so each test runs in a child process of its
//! own ([`util::in_child_process`]).

mod util;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use runtime::signal::{signal, SignalKind};
use util::{in_child_process, Watchdog};

/// Limit for each test here; they take milliseconds.
const LIMIT: Duration = Duration::from_secs(20);

/// Raises `kind` on this thread: every handler in the chain has run by the
/// time this returns.
fn raise(kind: SignalKind) {
    // SAFETY: `raise` takes a plain integer; every caller installed
    // handlers for `kind` first, so the delivery only runs them.
    let res = unsafe { libc::raise(kind.as_raw_value()) };
    assert_eq!(res, 0, "raise: {}", std::io::Error::last_os_error());
}

/// Registers a signal-hook-registry action for `kind` that counts into
/// `counter`.
fn register_library_handler(kind: SignalKind, counter: &'static AtomicUsize) {
    // SAFETY: the action only increments an atomic, which is
    // async-signal-safe.
    unsafe {
        signal_hook_registry::register(kind.as_raw_value(), move || {
            counter.fetch_add(1, Ordering::SeqCst);
        })
    }
    .expect("signal-hook-registry registers");
}

/// Raises `kind` twice and checks that `stream` and the library's counter
/// both saw each delivery.
fn both_see_every_delivery(kind: SignalKind, counter: &'static AtomicUsize) {
    runtime::block_on(async {
        let mut stream = signal(kind).unwrap();
        for round in 1..=2 {
            raise(kind);
            assert_eq!(stream.recv().await, Some(()), "the runtime saw it");
            assert_eq!(counter.load(Ordering::SeqCst), round, "the library saw it");
        }
    });
}

#[test]
fn a_library_handler_installed_first_still_runs() {
    in_child_process("a_library_handler_installed_first_still_runs", || {
        let _watchdog = Watchdog::new("library first", LIMIT);
        static SEEN: AtomicUsize = AtomicUsize::new(0);
        let kind = SignalKind::user_defined1();
        register_library_handler(kind, &SEEN);
        // Now the runtime installs its own handler over the library's.
        runtime::block_on(async { drop(signal(kind).unwrap()) });
        both_see_every_delivery(kind, &SEEN);
    });
}

#[test]
fn a_chaining_library_handler_installed_later_lets_the_runtime_see() {
    in_child_process(
        "a_chaining_library_handler_installed_later_lets_the_runtime_see",
        || {
            let _watchdog = Watchdog::new("runtime first", LIMIT);
            static SEEN: AtomicUsize = AtomicUsize::new(0);
            let kind = SignalKind::user_defined2();
            runtime::block_on(async { drop(signal(kind).unwrap()) });
            // The library installs over ours, keeping ours to chain to.
            register_library_handler(kind, &SEEN);
            both_see_every_delivery(kind, &SEEN);
        },
    );
}

/// The number of times [`plain_handler`] ran.
static PLAIN: AtomicUsize = AtomicUsize::new(0);

/// A one-argument handler (no `SA_SIGINFO`), as C code installs them.
extern "C" fn plain_handler(_signum: libc::c_int) {
    PLAIN.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn a_plain_handler_installed_first_is_called_with_its_own_signature() {
    in_child_process(
        "a_plain_handler_installed_first_is_called_with_its_own_signature",
        || {
            let _watchdog = Watchdog::new("plain handler", LIMIT);
            let kind = SignalKind::hangup();
            // SAFETY: `plain_handler` only increments an atomic.
            let old = unsafe {
                libc::signal(
                    kind.as_raw_value(),
                    plain_handler as extern "C" fn(libc::c_int) as libc::sighandler_t,
                )
            };
            assert_ne!(old, libc::SIG_ERR);
            both_see_every_delivery(kind, &PLAIN);
        },
    );
}

#[test]
fn an_ignored_signal_is_not_chained_to() {
    in_child_process("an_ignored_signal_is_not_chained_to", || {
        let _watchdog = Watchdog::new("ignored", LIMIT);
        let kind = SignalKind::window_change();
        // SAFETY: `SIG_IGN` installs no code.
        let old = unsafe { libc::signal(kind.as_raw_value(), libc::SIG_IGN) };
        assert_ne!(old, libc::SIG_ERR);
        runtime::block_on(async {
            let mut stream = signal(kind).unwrap();
            raise(kind); // calling "SIG_IGN" (address 1) would crash
            assert_eq!(stream.recv().await, Some(()));
        });
    });
}
