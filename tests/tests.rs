//! Integration tests of the `yijian` package, one binary.
//!
//! - `catalog`: every shipped bundle checks without errors and draws.
//! - `cli`: the `yijian` command as a designer runs it.

mod catalog;
mod cli;
