#[runtime_macros::main]
async fn main<T>() {}
