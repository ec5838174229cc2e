#[runtime_macros::test(start_paused = true flavor = "current_thread")]
async fn paused() {}

fn main() {}
