//! End-to-end tests of the echo binaries and the runtime; see `tests/`.
