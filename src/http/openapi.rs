//! `/openapi.json` (generated from the handlers' types) and `/docs` (Swagger UI, served from
//! the binary: no CDN, works offline).

use super::{auth, bundle, conversation, health, stories, users};
use crate::error::ErrorBody;
use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ObjectBuilder, Schema, Type};
use utoipa::{Modify, OpenApi, PartialSchema};
use utoipa_swagger_ui::SwaggerUi;

#[derive(OpenApi)]
#[openapi(
    info(title = "StoryMimi", description = "Illustrated, narrated children's stories, written scene by scene."),
    paths(
        auth::register, auth::login, auth::refresh, auth::logout,
        users::create_user, users::me, users::user,
        stories::create_story, stories::story_detail, stories::story_status, stories::delete_story,
        stories::retry_story, stories::regenerate::regenerate, stories::list_stories, bundle::bundle,
        conversation::history, conversation::add_transcript,
        health::healthz, health::readyz, health::machine_readyz, health::metrics,
    ),
    modifiers(&BearerAuth, &CommonErrors),
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

/// The errors any route can answer, declared on every operation with the one error schema:
/// malformed requests (400), a missing or bad token, another user's id, or a resource that is
/// not the caller's (401, 403, 404, on secured routes), bodies too large
/// or of the wrong type (413, 415), invalid fields (422), limits (429), and the service being
/// busy or its storage full (503). Each operation's own, more specific answers stay as written.
struct CommonErrors;

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.schemas.entry("ErrorBody".into()).or_insert_with(ErrorBody::schema);
        components.schemas.entry("ErrorDetail".into()).or_insert_with(crate::error::ErrorDetail::schema);
        let error = |what: &str| {
            ResponseBuilder::new()
                .description(what)
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            for operation in
                [&mut item.get, &mut item.post, &mut item.put, &mut item.delete, &mut item.patch].into_iter().flatten()
            {
                let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
                let mut common = vec![
                    ("400", "malformed request (query, path or body)"),
                    ("413", "request body too large"),
                    ("415", "request body is not JSON"),
                    ("422", "a field is invalid"),
                    ("429", "too many requests; see Retry-After"),
                    ("503", "busy, or storage full; see Retry-After"),
                ];
                if secured {
                    common.push(("401", "missing, invalid or expired token"));
                    common.push(("403", "the request names another user"));
                    common.push(("404", "no such resource of the caller's"));
                }
                for (status, what) in common {
                    operation.responses.responses.entry(status.into()).or_insert_with(|| error(what).into());
                }
            }
        }
    }
}

fn string_enum(values: &[&str]) -> Schema {
    Schema::Object(ObjectBuilder::new().schema_type(Type::String).enum_values(Some(values.iter().copied())).build())
}

/// `StoryStatus` lives in the core, which knows nothing of OpenAPI; described here.
pub fn status_schema() -> Schema {
    string_enum(&["pending", "processing", "completed", "failed"])
}

pub fn voice_schema() -> Schema {
    string_enum(&["model", "offline", "mixed"])
}

pub fn stage_schema() -> Schema {
    string_enum(&["queued", "planning", "writing", "illustrating", "narrating", "done", "failed"])
}

pub fn router() -> Router {
    SwaggerUi::new("/docs").url("/openapi.json", ApiDoc::openapi()).into()
}
