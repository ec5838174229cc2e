#[runtime_macros::test]
struct NotAFunction;

fn main() {}
