//! `GET /stories/{id}/bundle`: one zip with `story.json` (media paths made relative) and every
//! picture and narration, so the app (or a parent) can keep a story offline in one download.
//! Streamed: entries are written as their bytes come out of storage.

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::media::content_type_of;
use crate::state::AppState;
use crate::zipstream::ZipWriter;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::sync::mpsc;

pub fn router() -> Router<AppState> {
    Router::new().route("/stories/{story_id}/bundle", get(bundle))
}

fn extension(key: &str) -> &str {
    key.rsplit_once('.').map_or("bin", |(_, e)| e)
}

/// Download a story for offline reading: a zip of `story.json`, `cover.*`, `images/` and `audio/`.
#[utoipa::path(get, path = "/stories/{story_id}/bundle", tag = "stories", security(("bearer" = [])),
    params(("story_id" = String, Path)),
    responses((status = 200, description = "a zip archive", content_type = "application/zip"), (status = 404, body = crate::error::ErrorBody)))]
pub async fn bundle(
    State(state): State<AppState>,
    caller: AuthUser,
    Path(story_id): Path<String>,
) -> ApiResult<Response> {
    let id = super::stories::parse_story_id(&story_id)?;
    let (story, scenes) = match state.db.story_with_scenes(id).await? {
        Some((story, scenes)) if story.user_id == caller.0 => (story, scenes),
        _ => return Err(ApiError::NotFound("story")),
    };
    // (archive path, media key) for every file, and the detail pointing at those paths.
    let mut files = Vec::new();
    let cover = story.cover_key.clone().map(|key| {
        let path = format!("cover.{}", extension(&key));
        files.push((path.clone(), key));
        path
    });
    let scene_json: Vec<Value> = scenes
        .iter()
        .map(|scene| {
            let mut local = |dir: &str, key: &Option<String>| {
                key.as_ref().map(|key| {
                    let path = format!("{dir}/scene-{}.{}", scene.sequence, extension(key));
                    files.push((path.clone(), key.clone()));
                    path
                })
            };
            let (image, audio) = (local("images", &scene.image_key), local("audio", &scene.audio_key));
            json!({"scene_id": scene.scene_id, "sequence": scene.sequence, "title": scene.title, "text": scene.text,
                   "image_url": image, "audio_url": audio})
        })
        .collect();
    let detail = json!({
        "story_id": story.id, "title": story.title(), "status": story.status, "user_id": story.user_id,
        "created_at": story.created_at, "style": story.spec.style.as_str(), "age": story.spec.age,
        "language": story.spec.language, "cover_image_url": cover, "scenes": scene_json,
    });
    let json = serde_json::to_vec_pretty(&detail).map_err(anyhow::Error::from)?;

    // A small channel: the zip is produced only as fast as the client downloads it.
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let media = state.media.clone();
    tokio::spawn(async move {
        if let Err(e) = write_zip(&tx, json, files, &media).await {
            tracing::warn!(story = %id, error = %e, "bundle interrupted");
            let _ = tx.send(Err(std::io::Error::other(e))).await;
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    let filename = format!("attachment; filename=\"story-{id}.zip\"");
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("application/zip")),
        (header::CONTENT_DISPOSITION, HeaderValue::from_str(&filename).map_err(anyhow::Error::from)?),
    ];
    Ok((headers, Body::from_stream(stream)).into_response())
}

type Sink = mpsc::Sender<Result<Bytes, std::io::Error>>;

async fn write_zip(
    tx: &Sink,
    json: Vec<u8>,
    files: Vec<(String, String)>,
    media: &crate::media::Storage,
) -> Result<(), String> {
    let send = |chunk: Bytes| async move { tx.send(Ok(chunk)).await.map_err(|_| "the client went away".to_owned()) };
    let mut zip = ZipWriter::default();
    send(zip.start_entry("story.json").map_err(|e| e.to_string())?).await?;
    zip.data(&json).map_err(|e| e.to_string())?;
    send(json.into()).await?;
    send(zip.finish_entry().map_err(|e| e.to_string())?).await?;
    for (path, key) in files {
        if content_type_of(&key).is_none() {
            continue;
        }
        send(zip.start_entry(&path).map_err(|e| e.to_string())?).await?;
        let reader = media.operator().reader_with(&key).chunk(64 * 1024).await.map_err(|e| e.to_string())?;
        let mut stream = reader.into_bytes_stream(..).await.map_err(|e| e.to_string())?;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| e.to_string())?;
            zip.data(&chunk).map_err(|e| e.to_string())?;
            send(chunk).await?;
        }
        send(zip.finish_entry().map_err(|e| e.to_string())?).await?;
    }
    send(zip.finish().map_err(|e| e.to_string())?).await
}
