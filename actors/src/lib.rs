//! StoryMimi's live core: the domain model, the ports it needs, and the actor tree.
//!
//! ```text
//! RootActor                       restarts the StorySupervisor if it crashes
//!  └─ StorySupervisor             one-for-one, limited restarts per story
//!      └─ StoryActor × stories    plan → scene 1 … scene n, each persisted before the next
//! ```
//!
//! Nothing here knows about HTTP, SQL or object storage: the edge (`src/`) implements the
//! ports in [`ports`] and drives the tree through [`root::Engine`].

pub mod model;
pub mod ports;
pub mod requirements;
pub mod retry;
pub mod root;
pub mod story;
pub mod story_supervisor;

pub use root::Engine;
