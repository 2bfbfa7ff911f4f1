//! One file per route family.

pub mod health;
pub mod rendition;
