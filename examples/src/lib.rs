//! Programs a tokio user knows, written for the runtime. Each is one file
//! under `examples/` with its `main`, run as
//!
//! ```text
//! cargo run -p examples --example echo        [ADDR]
//! cargo run -p examples --example chat        [ADDR]
//! cargo run -p examples --example proxy       [LISTEN_ADDR] [SERVER_ADDR]
//! cargo run -p examples --example hyper_hello [ADDR]
//! ```
//!
//! and each has a test under `tests/` that runs its server on port 0 and
//! talks to it. `examples/hyper_hello/rt.rs` is the glue that puts hyper
//! on the runtime: one small module to copy into a project.
//!
//! This library itself is empty.

#![forbid(unsafe_code)]
