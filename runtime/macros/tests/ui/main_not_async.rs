#[runtime_macros::main]
fn main() {}
