//! The builtin provider family: works offline with no keys, deterministic per story.

mod phrases;
mod rng;
mod storyteller;

pub use storyteller::Storyteller;
