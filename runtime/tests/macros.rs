//! `#[runtime::test]` and `#[runtime::main]` in use: tests written with
//! them, a paused clock, results and `?`, attributes kept, the options.
//! Their misuse is tested in `runtime/macros/tests/compile_fail.rs`.

use std::error::Error;
use std::time::Duration;

use runtime::sync::oneshot;
use runtime::time::{sleep, Instant};

/// A test body runs on a runtime: it can spawn and await.
#[runtime::test]
async fn a_test_runs_on_a_runtime() {
    let handle = runtime::spawn(async { 6 * 7 });
    assert_eq!(handle.await.unwrap(), 42);
    assert!(runtime::Handle::try_current().is_ok());
}

/// `start_paused = true`: an hour of virtual time passes at once (and if
/// the clock were not paused, a real-time alarm from another thread would
/// end the test after 5 s instead of an hour).
#[runtime::test(start_paused = true)]
async fn start_paused_sleeps_an_hour_quickly() {
    let (alarm_tx, alarm) = oneshot::channel();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(5));
        let _ = alarm_tx.send(());
    });
    let wall = std::time::Instant::now();
    let start = Instant::now();
    runtime::select! {
        biased;
        () = sleep(Duration::from_secs(3600)) => {}
        _ = alarm => panic!("an hour of virtual time took 5 s of real time: is the clock paused?"),
    }
    assert_eq!(start.elapsed(), Duration::from_secs(3600));
    assert!(
        wall.elapsed() < Duration::from_secs(1),
        "took {:?}",
        wall.elapsed()
    );
}

/// `start_paused = false` (and no option at all) leaves the clock running:
/// a sleep takes real time.
#[runtime::test(start_paused = false)]
async fn start_paused_false_runs_the_clock() {
    let wall = std::time::Instant::now();
    sleep(Duration::from_millis(20)).await;
    assert!(wall.elapsed() >= Duration::from_millis(20));
}

/// A test may return a `Result` and use `?`, whose error type is inferred
/// from the declared return type.
#[runtime::test]
async fn a_test_returns_a_result() -> Result<(), Box<dyn Error>> {
    let n: u32 = "42".parse()?;
    sleep(Duration::from_millis(1)).await;
    assert_eq!(n, 42);
    Ok(())
}

/// Other attributes stay: `#[should_panic]` sees the body's panic.
#[runtime::test]
#[should_panic(expected = "from the async body")]
async fn should_panic_is_kept() {
    runtime::task::yield_now().await;
    panic!("from the async body");
}

/// tokio's `flavor = "current_thread"` is accepted, with other options.
#[runtime::test(flavor = "current_thread", start_paused = true)]
async fn tokio_flavor_is_accepted() {
    let start = Instant::now();
    sleep(Duration::from_secs(60)).await;
    assert_eq!(start.elapsed(), Duration::from_secs(60));
}

/// The runtime crate reached under another path.
mod renamed {
    pub use runtime::{Builder, Runtime};
}

/// `crate = "path"` builds the runtime through that path, with the
/// builder or without.
#[runtime::test(crate = "crate::renamed", start_paused = true)]
async fn crate_option_names_the_path() {
    sleep(Duration::from_secs(1)).await;
}

#[runtime::test(crate = "crate::renamed")]
async fn crate_option_without_other_options() {
    runtime::task::yield_now().await;
}

/// `#[runtime::main]` on a function of another name: a plain function
/// that runs the body to completion and returns its output.
#[runtime::main]
async fn compute() -> u32 {
    let doubled = runtime::spawn(async { 21 * 2 });
    doubled.await.unwrap()
}

/// `#[runtime::main]` with a `Result` and `?`.
#[runtime::main]
async fn read_missing_file() -> Result<Vec<u8>, Box<dyn Error>> {
    let bytes = std::fs::read("/nonexistent/runtime-macros-test")?;
    Ok(bytes)
}

#[test]
fn main_attribute_blocks_on_the_body() {
    assert_eq!(compute(), 42);
    let error = read_missing_file().unwrap_err();
    let io = error
        .downcast_ref::<std::io::Error>()
        .expect("an io::Error");
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
}

/// Each call builds a runtime of its own: two in a row work, and no
/// runtime is left current afterwards.
#[test]
fn each_call_builds_its_own_runtime() {
    assert_eq!(compute(), 42);
    assert_eq!(compute(), 42);
    assert!(runtime::Handle::try_current().is_err());
}
