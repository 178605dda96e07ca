//! The same hero on every page: a story gets a character sheet when it is planned (`characters`
//! in the detail and the bundle), and the builtin illustrator draws every picture of the story
//! from it: the pixels of each picture show the hero's colour and what the hero wears. (The
//! image prompts an image API receives are checked in `openai.rs`.)

use crate::helpers::{TestApp, User, spawn_app_with};
use crate::media::fetch;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use storymimi::Overrides;
use storymimi::config::NarratorKind;
use storymimi::providers::builtin::looks;

/// How many pixels of `png` are exactly `hex` (opaque).
fn pixels_of(png: &[u8], hex: &str) -> usize {
    let pixmap = resvg::tiny_skia::Pixmap::decode_png(png).expect("a PNG");
    let rgb = u32::from_str_radix(&hex[1..], 16).unwrap();
    let (r, g, b) = ((rgb >> 16) as u8, (rgb >> 8) as u8, rgb as u8);
    pixmap.pixels().iter().filter(|p| (p.red(), p.green(), p.blue(), p.alpha()) == (r, g, b, 255)).count()
}

async fn finished_story(app: &TestApp, user: &User, prompt: &str, scenes: u8) -> Value {
    let id = app.create_story(user, json!({"prompt": prompt, "num_scenes": scenes})).await;
    assert_eq!(app.wait_until_finished(user, &id).await["status"], "completed");
    app.get(&format!("/stories/{id}"), &user.token).await.json().await.unwrap()
}

#[tokio::test]
async fn every_picture_of_a_story_draws_the_hero_as_its_character_sheet_says() {
    let app = spawn_app_with(|c| c.providers.speech.kind = NarratorKind::None, Overrides::default()).await;
    let user = app.register("ada@example.com").await;
    let prompt = "a purple dragon called Pip and his friend Ruby the fox, in the forest";
    let detail = finished_story(&app, &user, prompt, 3).await;

    let characters = detail["characters"].as_array().unwrap();
    let hero = &characters[0];
    assert_eq!((hero["name"].as_str(), hero["kind"].as_str()), (Some("Pip"), Some("dragon")), "{detail}");
    let look = hero["look"].as_str().unwrap();
    assert!(look.contains("purple dragon"), "the colour the child said: {look}");
    assert!(characters.iter().any(|c| c["name"] == "Ruby" && c["kind"] == "fox"), "{characters:?}");

    // Every picture, the cover too, shows the hero's body colour and what the hero wears.
    let (body, worn) = looks::colours(look);
    let worn = worn.expect("the sheet says what the hero wears");
    let scenes = detail["scenes"].as_array().unwrap();
    let urls =
        scenes.iter().map(|s| s["image_url"].as_str().unwrap()).chain([detail["cover_image_url"].as_str().unwrap()]);
    for url in urls {
        let png = fetch(&app, url).await.bytes().await.unwrap();
        assert!(pixels_of(&png, body) > 2_000, "{url} draws the hero in {body} ({look})");
        assert!(pixels_of(&png, worn) > 300, "{url} draws what the hero wears in {worn} ({look})");
    }

    // The sheet goes with the story into its offline bundle.
    let id = detail["story_id"].as_str().unwrap();
    let bytes = app.get(&format!("/stories/{id}/bundle"), &user.token).await.bytes().await.unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let bundled: Value = serde_json::from_reader(archive.by_name("story.json").unwrap()).unwrap();
    assert_eq!(bundled["characters"], detail["characters"]);
}

#[tokio::test]
async fn two_stories_with_the_same_hero_name_may_look_different_each_keeping_its_own() {
    let app = spawn_app_with(|c| c.providers.speech.kind = NarratorKind::None, Overrides::default()).await;
    let user = app.register("ada@example.com").await;
    let mut seen = BTreeSet::new();
    for _ in 0..3 {
        let detail = finished_story(&app, &user, "a dragon called Pip", 2).await;
        let look = detail["characters"][0]["look"].as_str().unwrap().to_owned();
        let (body, _) = looks::colours(&look);
        for scene in detail["scenes"].as_array().unwrap() {
            let png = fetch(&app, scene["image_url"].as_str().unwrap()).await.bytes().await.unwrap();
            assert!(pixels_of(&png, body) > 2_000, "each story keeps its own hero: {look}");
        }
        seen.insert(look);
    }
    assert!(seen.len() > 1, "each story's own look, from its seed: {seen:?}");
}
