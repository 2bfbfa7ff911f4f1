//! Bindings to the codec libraries, one module per library. Each turns bytes
//! into a [`Bitmap`](super::bitmap::Bitmap) plus colour profile, or back, and
//! reports failures as plain messages for the pipeline to classify.

pub mod avif;
pub mod gif;
pub mod heic;
pub mod icc;
pub mod image_crate;
pub mod jpeg;
pub mod webp;
