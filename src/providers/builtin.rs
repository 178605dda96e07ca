//! The builtin provider family: works offline with no keys, deterministic per story.

mod art;
mod illustrator;
pub mod looks;
mod phrases;
mod rng;
mod storyteller;

pub use illustrator::BuiltinIllustrator;
pub use storyteller::{Storyteller, characters};

/// The builtin plan for a story (what the storyteller would plan), for tests of the other
/// builtin providers.
#[cfg(test)]
pub(crate) fn storyteller_plan(
    id: actors::model::StoryId,
    spec: &actors::model::StorySpec,
) -> actors::model::StoryPlan {
    storyteller::plan(id, spec)
}
