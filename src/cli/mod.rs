//! Subcommands other than `serve`, and how they print.

pub mod backfill;
pub mod check;
pub mod jobs;
pub mod sweep;
pub mod sync;
