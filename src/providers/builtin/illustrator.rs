//! The builtin illustrator: an SVG composed from the scene, rendered to a 768×512 PNG with
//! resvg. The hero (drawn from the kind the child asked for, in a colour fixed per story) stands
//! in the story's setting; the sky follows the time of day and mood of each scene's text, and a
//! palette follows the style. Deterministic per story and scene.

use super::art;
use super::looks;
use super::rng::Rng;
use actors::model::{Setting, Style};
use actors::ports::{IllustrationRequest, Illustrator, Media, ProviderError};
use actors::requirements;
use async_trait::async_trait;

pub const WIDTH: u32 = 768;
pub const HEIGHT: u32 = 512;

pub struct BuiltinIllustrator;

#[async_trait]
impl Illustrator for BuiltinIllustrator {
    fn name(&self) -> &str {
        "builtin"
    }

    async fn illustrate(&self, request: IllustrationRequest<'_>) -> Result<Media, ProviderError> {
        let svg = compose(&request);
        // Rendering is CPU work: keep it off the async workers.
        let png = tokio::task::spawn_blocking(move || render(&svg))
            .await
            .map_err(|e| ProviderError::transient(format!("illustrator task: {e}")))?
            .map_err(ProviderError::permanent)?;
        Ok(Media { bytes: png, content_type: "image/png".into() })
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Time {
    Morning,
    Day,
    Sunset,
    Night,
}

fn time_of(text: &str, index: Option<usize>, total: usize, style: Style) -> Time {
    let t = text.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| t.contains(w));
    if has(&["night", "moon", "dream", "sleep", "starry evening", "dark"]) {
        Time::Night
    } else if has(&["sunset", "evening", "dusk"]) {
        Time::Sunset
    } else if has(&["morning", "sunrise", "dawn"]) {
        Time::Morning
    } else {
        // The day moves on through the story; bedtime stories end at night.
        let position = index.map_or(0.0, |i| i as f32 / total.max(1) as f32);
        match (style, position) {
            (Style::Bedtime, p) if p >= 0.5 => Time::Night,
            (_, p) if p < 0.25 => Time::Morning,
            (_, p) if p < 0.75 => Time::Day,
            _ => Time::Sunset,
        }
    }
}

fn sky(style: Style, time: Time) -> (&'static str, &'static str) {
    match time {
        Time::Night => ("#0b1a3a", "#3b3b7a"),
        Time::Sunset => ("#ff9a76", "#ffd88a"),
        Time::Morning => ("#ffd6e0", "#bde0fe"),
        Time::Day => match style {
            Style::Fantasy => ("#c8b6ff", "#ffd6ff"),
            Style::SciFi => ("#1b1f5c", "#5a4fcf"),
            Style::Adventure => ("#48cae4", "#ffe8a3"),
            Style::Animals => ("#74c0fc", "#d0f4de"),
            Style::Bedtime => ("#5c6bc0", "#b39ddb"),
            Style::Funny => ("#4cc9f0", "#fff3b0"),
            Style::Mystery => ("#5e7d7e", "#b8c6c4"),
        },
    }
}

fn compose(request: &IllustrationRequest<'_>) -> String {
    let spec = request.spec;
    let seed = Rng::seed_of(request.story_id.0.as_bytes());
    let outlines: String = request.plan.scenes.iter().map(|s| s.outline.as_str()).collect::<Vec<_>>().join(". ");
    // What the child asked for first; what the storyteller chose (read from its outlines and
    // this scene's text) where the child left it open.
    let asked = &spec.cast;
    let planned = requirements::extract(&outlines);
    // The character sheet says who is in the picture and how they look; a story planned before
    // sheets existed is drawn from what was asked, the hero in a colour fixed by the story.
    let in_picture = request.characters();
    let hero_sheet = in_picture.first();
    let hero_kind = hero_sheet
        .map(|c| c.kind.to_lowercase())
        .or(asked.hero.kind.clone())
        .or(planned.hero.kind)
        .unwrap_or_else(|| "child".into());
    let friend: Option<(String, &str)> = match in_picture.get(1) {
        Some(sheet) => Some((sheet.kind.to_lowercase(), sheet.look.as_str())),
        None if request.plan.characters.is_empty() => asked
            .companions
            .first()
            .and_then(|c| c.kind.clone())
            .or(planned.companions.first().and_then(|c| c.kind.clone()))
            .filter(|_| request.index.is_some_and(|i| i > 0))
            .map(|kind| (kind, "")),
        None => None,
    };
    let place = asked.place.clone().or(planned.setting).or_else(|| requirements::extract(request.text).setting);
    // A place there is no picture of is drawn as the nearest shape (rolling hills).
    let setting = place.and_then(|p| p.setting());
    let total = request.plan.scenes.len();
    let time = time_of(request.text, request.index, total, spec.style);
    let (top, bottom) = sky(spec.style, time);
    // Per scene and per text: a page written again is drawn again, the hero unchanged.
    let scene_seed = seed
        ^ request.index.map_or(0xc0, |i| i as u64 + 1).wrapping_mul(0x9e37_79b9)
        ^ Rng::seed_of(request.text.as_bytes());
    let mut rng = Rng::new(scene_seed);

    let mut svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}">
<defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="{top}"/><stop offset="1" stop-color="{bottom}"/></linearGradient></defs>
<rect width="{WIDTH}" height="{HEIGHT}" fill="url(#sky)"/>"##
    );
    match time {
        Time::Night => {
            for _ in 0..30 {
                let (x, y, r) = (rng.below(768), rng.below(230), 1 + rng.below(3));
                svg.push_str(&format!(r##"<circle cx="{x}" cy="{y}" r="{r}" fill="#fffbe0"/>"##));
            }
            svg.push_str(r##"<circle cx="640" cy="80" r="42" fill="#fef9c3"/><circle cx="622" cy="68" r="38" fill="#0b1a3a" opacity="0.35"/>"##);
        }
        Time::Sunset => svg.push_str(r##"<circle cx="150" cy="330" r="90" fill="#ff7b54" opacity="0.9"/>"##),
        // Space has its own stars and planets instead of a sun.
        Time::Morning | Time::Day if setting == Some(Setting::Space) => {}
        Time::Morning | Time::Day => {
            let x = 90 + rng.below(120);
            svg.push_str(&format!(r##"<circle cx="{x}" cy="90" r="48" fill="#ffe066"/><circle cx="{x}" cy="90" r="62" fill="#ffe066" opacity="0.3"/>"##));
        }
    }
    let night = time == Time::Night;
    svg.push_str(&format!(r##"<rect x="0" y="400" width="{WIDTH}" height="112" fill="{}"/>"##, art::ground(setting)));
    svg.push_str(&art::backdrop(setting, night, scene_seed % 1000));
    let gloomy = ["storm", "lost", "afraid", "scared", "worried", "dark tunnel"]
        .iter()
        .any(|w| request.text.to_lowercase().contains(w));
    if gloomy {
        svg.push_str(r##"<g fill="#7f8c8d" opacity="0.85"><ellipse cx="200" cy="70" rx="110" ry="40"/><ellipse cx="290" cy="60" rx="80" ry="34"/><ellipse cx="560" cy="90" rx="120" ry="38"/></g>"##);
    }

    // Dusk falls on the scenery, not on the characters, who stay easy to see.
    if night {
        svg.push_str(r##"<rect width="768" height="512" fill="#0b1a3a" opacity="0.18"/>"##);
    }
    let hero = character(&hero_kind, hero_sheet.map_or("", |c| c.look.as_str()), seed);
    let (x, scale) = match request.index {
        None => (384, 1.35),
        Some(i) => (190 + ((i * 211 + rng.below(60)) % 380), 1.0),
    };
    let facing = if rng.below(2) == 0 { 1.0 } else { -1.0 };
    if let Some((kind, look)) = &friend {
        let fx = if x > 384 { x - 190 } else { x + 190 };
        // Without a sheet the friend is brown, as before sheets existed.
        let look = if look.is_empty() { "a brown friend" } else { look };
        let (drawn, size) = character(kind, look, seed ^ 0xf1e4d);
        svg.push_str(&format!(r##"<g transform="translate({fx},465) scale({})">{drawn}</g>"##, 0.62 * size));
    }
    let (hero, size) = hero;
    let scale = scale * size;
    svg.push_str(&format!(r##"<g transform="translate({x},470) scale({},{scale})">{hero}</g>"##, facing * scale));
    svg.push_str("</svg>");
    svg
}

/// A character of `kind` drawn as `look` says (colours, size, what they wear), and its scale.
fn character(kind: &str, look: &str, seed: u64) -> (String, f32) {
    let family = art::family(kind);
    let appearance = looks::appearance(look, seed);
    let mut drawn = art::hero(family, appearance.paint);
    if let Some((accessory, colour)) = appearance.accessory {
        drawn.push_str(&art::accessory(family, accessory, colour));
    }
    (drawn, appearance.scale)
}

fn render(svg: &str) -> Result<Vec<u8>, String> {
    let tree = resvg::usvg::Tree::from_str(svg, &resvg::usvg::Options::default()).map_err(|e| format!("svg: {e}"))?;
    let mut pixmap = resvg::tiny_skia::Pixmap::new(WIDTH, HEIGHT).ok_or("could not allocate the canvas")?;
    resvg::render(&tree, resvg::tiny_skia::Transform::default(), &mut pixmap.as_mut());
    pixmap.encode_png().map_err(|e| format!("png: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actors::model::{SpecLimits, SpecRequest, StoryId, StorySpec};

    fn pixels_of(png: &[u8], hex: &str) -> usize {
        let pixmap = resvg::tiny_skia::Pixmap::decode_png(png).unwrap();
        let rgb = u32::from_str_radix(&hex[1..], 16).unwrap();
        let (r, g, b) = ((rgb >> 16) as u8, (rgb >> 8) as u8, rgb as u8);
        pixmap.pixels().iter().filter(|p| p.red() == r && p.green() == g && p.blue() == b && p.alpha() == 255).count()
    }

    #[tokio::test]
    async fn scenes_differ_and_the_hero_keeps_its_colour() {
        let id = StoryId::new();
        let prompt = "a brave dragon called Pip and his friend a fox, in the forest";
        let request = SpecRequest { style: Some(Style::Fantasy), ..actors::requirements::request_from(prompt) };
        let spec = StorySpec::new(request, &SpecLimits::default()).unwrap();
        let plan = super::super::storyteller_plan(id, &spec);
        let texts = ["One sunny morning Pip set off.", "They walked all day.", "That night Pip slept under the moon."];
        let mut images = Vec::new();
        for (i, text) in texts.iter().enumerate() {
            let request = IllustrationRequest { story_id: id, spec: &spec, plan: &plan, index: Some(i), text };
            let media = BuiltinIllustrator.illustrate(request).await.unwrap();
            assert_eq!(media.content_type, "image/png");
            let pixmap = resvg::tiny_skia::Pixmap::decode_png(&media.bytes).unwrap();
            assert_eq!((pixmap.width(), pixmap.height()), (WIDTH, HEIGHT));
            assert!(media.bytes.len() < 200_000, "tens of KB, not megabytes: {}", media.bytes.len());
            let (colour, worn) = looks::colours(&plan.characters[0].look);
            assert!(pixels_of(&media.bytes, colour) > 2_000, "scene {i} shows the hero in {colour}");
            let worn = worn.expect("the hero wears something");
            assert!(pixels_of(&media.bytes, worn) > 300, "scene {i} shows what the hero wears, in {worn}");
            images.push(media.bytes);
        }
        assert_ne!(images[0], images[1]);
        assert_ne!(images[1], images[2]);
        if let Ok(dir) = std::env::var("STORYMIMI_SAMPLE_DIR") {
            for (i, png) in images.iter().enumerate() {
                std::fs::write(format!("{dir}/scene-{i}.png"), png).unwrap();
            }
        }
    }

    #[test]
    fn every_kind_and_setting_renders() {
        let kinds = [
            "dragon", "unicorn", "fox", "cat", "rabbit", "owl", "penguin", "robot", "princess", "wizard", "knight",
            "pirate", "girl", "whale", "ghost",
        ];
        let worn = ["scarf", "hat", "bow", "crown"];
        // Every kind wearing every accessory, on one sheet (STORYMIMI_SAMPLE_DIR keeps it to look at).
        for (half, kinds) in kinds.chunks(8).enumerate() {
            let mut sheet = String::new();
            for (row, wearing) in worn.iter().enumerate() {
                for (column, kind) in kinds.iter().enumerate() {
                    let (drawn, _) = character(kind, &format!("a red {kind} with a blue {wearing}"), 0);
                    let (x, y) = (50 + column as i32 * 95, 120 + row as i32 * 125);
                    sheet.push_str(&format!(r##"<g transform="translate({x},{y}) scale(0.42)">{drawn}</g>"##));
                }
            }
            let svg =
                format!(r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}">{sheet}</svg>"##);
            let png = render(&svg).expect("every kind wears every accessory");
            if let Ok(dir) = std::env::var("STORYMIMI_SAMPLE_DIR") {
                std::fs::write(format!("{dir}/wearing-{half}.png"), png).unwrap();
            }
        }
        for setting in Setting::ALL.iter().copied().map(Some).chain([None]) {
            let svg = format!(
                r##"<svg xmlns="http://www.w3.org/2000/svg" width="768" height="512">{}</svg>"##,
                art::backdrop(setting, false, 7)
            );
            assert!(render(&svg).is_ok(), "{setting:?}");
        }
    }
}
