//! Subcommands other than `serve`, and how they print.

pub mod check;
pub mod jobs;
