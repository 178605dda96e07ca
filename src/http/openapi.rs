//! `/openapi.json` (generated from the handlers' types) and `/docs` (Swagger UI, served from
//! the binary: no CDN, works offline).

use super::{auth, bundle, conversation, health, stories, users};
use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ObjectBuilder, Schema, Type};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

#[derive(OpenApi)]
#[openapi(
    info(title = "StoryMimi", description = "Illustrated, narrated children's stories, written scene by scene."),
    paths(
        auth::register, auth::login, auth::refresh, auth::logout,
        users::create_user, users::me, users::user,
        stories::create_story, stories::story_detail, stories::story_status, stories::delete_story,
        stories::retry_story, stories::list_stories, bundle::bundle,
        conversation::history, conversation::add_transcript,
        health::healthz, health::readyz, health::metrics,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Accounts and tokens"),
        (name = "users", description = "The seed app's user endpoints"),
        (name = "stories", description = "Story creation, progress and reading"),
        (name = "conversation", description = "Conversation history (the live conversation is the WebSocket at /conversation/{user_id})"),
        (name = "operations", description = "Health and metrics"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

fn string_enum(values: &[&str]) -> Schema {
    Schema::Object(ObjectBuilder::new().schema_type(Type::String).enum_values(Some(values.iter().copied())).build())
}

/// `StoryStatus` lives in the core, which knows nothing of OpenAPI; described here.
pub fn status_schema() -> Schema {
    string_enum(&["pending", "processing", "completed", "failed"])
}

pub fn stage_schema() -> Schema {
    string_enum(&["queued", "planning", "writing", "illustrating", "narrating", "done", "failed"])
}

pub fn router() -> Router {
    SwaggerUi::new("/docs").url("/openapi.json", ApiDoc::openapi()).into()
}
