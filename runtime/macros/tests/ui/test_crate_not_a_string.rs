#[runtime_macros::test(crate = runtime)]
async fn elsewhere() {}

fn main() {}
