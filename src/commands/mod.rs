//! The subcommands, each turning arguments into library calls and printing
//! its stable JSON form.

pub mod plan;
pub mod render;
pub mod serve;
pub mod sign;
