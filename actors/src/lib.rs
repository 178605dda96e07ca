//! StoryMimi's live core: the domain model, the ports it needs, and the actor tree.
//!
//! ```text
//! RootActor                          restarts a crashed supervisor; stops sockets first on shutdown
//!  ├─ StorySupervisor                one-for-one, limited restarts per story
//!  │   └─ StoryActor × stories       plan → scene 1 … scene n, each persisted before the next
//!  ├─ ConversationSupervisor         registry of conversations; passivates idle ones
//!  │   └─ ConversationActor × users  agent, draft, event ring, fan-out to the user's sockets
//!  └─ ConnectionActor × sockets      parse, rate-limit, forward to the user's conversation
//! ```
//!
//! Story actors publish progress to the owner's conversation actor, which sends it to every
//! socket of that user.
//!
//! Nothing here knows about HTTP, SQL or object storage: the edge (`src/`) implements the
//! ports in [`ports`] and drives the tree through [`root::Engine`].

pub mod agent;
pub mod connection;
pub mod conversation;
pub mod conversation_supervisor;
pub mod model;
pub mod ports;
pub mod protocol;
pub mod rate;
pub mod requirements;
pub mod retry;
pub mod root;
pub mod story;
pub mod story_supervisor;

pub use root::{Connection, Engine, EngineConfig, Ports};
