//! 9. Measured: the six servers under one load.
//!
//! (The table is filled in from `bench/guide.sh`.)
