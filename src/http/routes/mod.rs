//! One file per route family.

pub mod health;
pub mod images;
pub mod plan;
pub mod rendition;
