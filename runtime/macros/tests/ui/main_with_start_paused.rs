#[runtime_macros::main(start_paused = true)]
async fn main() {}
