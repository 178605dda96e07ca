//! `GET /stories/{id}/bundle`: one zip with `story.json` (media paths made relative) and every
//! picture and narration, so the app (or a parent) can keep a story offline in one download.
//! Streamed: entries are written as their bytes come out of storage.

use super::stories::StoryDetail;
use crate::error::{ApiError, ApiResult};
use crate::homes::HomeUser;
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
    HomeUser(caller): HomeUser,
    Path(story_id): Path<String>,
) -> ApiResult<Response> {
    let id = super::stories::parse_story_id(&story_id)?;
    let (story, scenes) = match state.db.story_with_scenes(id).await? {
        Some((story, scenes)) if story.user_id == caller.0 => (story, scenes),
        _ => return Err(ApiError::NotFound("story")),
    };
    // The detail exactly as `GET /stories/{id}` renders it, with media paths made relative:
    // rendered with the keys themselves, which are then swapped for paths inside the archive.
    let mut detail = StoryDetail::new(story, scenes, str::to_owned);
    let mut files = Vec::new(); // (archive path, media key)
    let mut local = |url: &mut Option<String>, path: String| {
        if let Some(key) = url.take() {
            let path = format!("{path}.{}", extension(&key));
            files.push((path.clone(), key));
            *url = Some(path);
        }
    };
    local(&mut detail.cover_image_url, "cover".into());
    for scene in &mut detail.scenes {
        local(&mut scene.image_url, format!("images/scene-{}", scene.sequence));
        local(&mut scene.audio_url, format!("audio/scene-{}", scene.sequence));
    }
    let json = serde_json::to_vec_pretty(&detail).map_err(anyhow::Error::from)?;

    // A small channel: the zip is produced only as fast as the client downloads it.
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let media = state.media.clone();
    tokio::spawn(async move {
        if let Err(e) = write_zip(&tx, json, files, &media).await {
            tracing::warn!(story = %id, error = ?e, "bundle interrupted");
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

/// Why a bundle stopped part-way (the client sees its download cut short).
#[derive(Debug, thiserror::Error)]
enum BundleError {
    #[error("the client went away")]
    ClientGone,
    #[error(transparent)]
    Zip(#[from] crate::zipstream::TooLarge),
    #[error(transparent)]
    Media(#[from] crate::media::MediaError),
    #[error("reading media")]
    Read(#[from] std::io::Error),
}

async fn write_zip(
    tx: &Sink,
    json: Vec<u8>,
    files: Vec<(String, String)>,
    media: &crate::media::Storage,
) -> Result<(), BundleError> {
    let send = |chunk: Bytes| async move { tx.send(Ok(chunk)).await.map_err(|_| BundleError::ClientGone) };
    let mut zip = ZipWriter::default();
    send(zip.start_entry("story.json")?).await?;
    zip.data(&json)?;
    send(json.into()).await?;
    send(zip.finish_entry()?).await?;
    for (path, key) in files {
        if content_type_of(&key).is_none() {
            continue;
        }
        send(zip.start_entry(&path)?).await?;
        let mut stream = media.stream(&key, ..).await?;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            zip.data(&chunk)?;
            send(chunk).await?;
        }
        send(zip.finish_entry()?).await?;
    }
    send(zip.finish()?).await
}
