#[runtime_macros::test(start_pasued = true)]
async fn paused() {}

fn main() {}
