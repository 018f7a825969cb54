//! Subcommands other than `serve`, and how they print.

pub mod jobs;
