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
//! How things flow, each actor holding only the small handle it needs:
//! - a socket's text frame → [`connection`] (parse, rate-limit) → the user's
//!   [`conversation`], found through a [`connection::ConversationLocator`];
//! - a child's turn → the conversation persists it, runs the [`agent`], and on "yes" creates
//!   the story through the [`stories::StoryService`] (the same one the HTTP edge uses), which
//!   starts it through a [`ports::StoryLauncher`];
//! - a story actor publishes domain [`ports::StoryEvent`]s on its [`ports::StoryEvents`]; the
//!   owner's conversation turns them into protocol events for every socket of that user.
//!
//! Modules depend one way: `model` → `ports`/`protocol` → logic (`requirements`, `agent`,
//! `stories`) → actors → `root` (checked by `tests/layering.rs`). Nothing here knows about
//! HTTP, SQL or object storage: the edge (`src/`) implements the ports and drives the tree
//! through [`root::Engine`].

pub mod agent;
pub mod connection;
pub mod conversation;
pub mod conversation_supervisor;
pub mod fair;
pub mod model;
pub mod ports;
pub mod protocol;
pub mod rate;
pub mod requirements;
pub mod retry;
pub mod root;
pub mod stories;
pub mod story;
pub mod story_supervisor;
pub mod sync;
pub mod text;

pub use root::{Connection, Engine, EngineConfig, Ports};
