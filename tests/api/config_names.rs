//! Every `STORYMIMI_*` name an operator reads or copies — in fly.toml, the Dockerfile, the
//! README, docs/ and deploy/ — is a setting the service reads, so a typo cannot ship (figment
//! would ignore an unknown variable without a word). The names are derived from the real config,
//! as figment's `Env::prefixed("STORYMIMI_")` maps them, plus the few read from the environment
//! directly (found in the code, not listed by hand).

use regex::Regex;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use storymimi::Config;

pub fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// `STORYMIMI_<FIELD>` for every field of the config: figment's `Env` provider strips the
/// prefix and lower-cases the rest to find the key.
pub fn setting_names() -> BTreeSet<String> {
    let defaults = serde_json::to_value(Config::default()).unwrap();
    defaults.as_object().unwrap().keys().map(|key| format!("STORYMIMI_{}", key.to_ascii_uppercase())).collect()
}

/// Names the code reads from the environment itself (`env::var("STORYMIMI_…")` in Rust,
/// `process.env.STORYMIMI_…` in the browser tests): `STORYMIMI_CONFIG`, the test tools.
fn read_directly() -> BTreeSet<String> {
    let read = Regex::new(r#"(?:var(?:_os)?\("|process\.env\.)(STORYMIMI_[A-Z0-9_]+)"#).unwrap();
    let mut names = BTreeSet::new();
    for dir in ["src", "actors/src", "tests", "benches"] {
        for file in files_under(&repo(dir)) {
            if file.extension().is_some_and(|e| e == "rs" || e == "mjs") {
                let text = std::fs::read_to_string(&file).unwrap();
                names.extend(read.captures_iter(&text).map(|c| c[1].to_owned()));
            }
        }
    }
    names
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().map(Result::unwrap) {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "node_modules") {
                files.extend(files_under(&path));
            }
        } else {
            files.push(path);
        }
    }
    files
}

/// What operators read: the deploy files, the README, every doc, everything under deploy/.
fn operator_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = ["fly.toml", "Dockerfile", "README.md", ".ci/run"].into_iter().map(repo).collect();
    files.extend(files_under(&repo("docs")).into_iter().filter(|f| f.extension().is_some_and(|e| e == "md")));
    files.extend(files_under(&repo("deploy")));
    files
}

#[test]
fn every_storymimi_name_in_the_deploy_files_and_docs_is_a_setting() {
    let settings = setting_names();
    assert!(settings.contains("STORYMIMI_DB_URL") && settings.len() > 90, "{settings:?}");
    let known: BTreeSet<String> = settings.iter().cloned().chain(read_directly()).collect();
    assert!(known.contains("STORYMIMI_CONFIG") && known.contains("STORYMIMI_TEST_SQLD"), "{known:?}");
    let mentioned = Regex::new(r"STORYMIMI_[A-Z0-9_]+").unwrap();
    let (mut problems, mut checked) = (Vec::new(), 0);
    for file in operator_files() {
        let Ok(text) = std::fs::read_to_string(&file) else { continue };
        let place = file.strip_prefix(repo("")).unwrap().display().to_string();
        for (line, text) in text.lines().enumerate() {
            for name in mentioned.find_iter(text).map(|m| m.as_str()) {
                checked += 1;
                let ok = match name.strip_suffix('_') {
                    // `STORYMIMI_S3_*`, `STORYMIMI_IMAGE_…`: a family of settings.
                    Some(prefix) => known.iter().any(|k| k.starts_with(&format!("{prefix}_"))),
                    None => known.contains(name),
                };
                if !ok {
                    problems.push(format!("{place}:{}: {name}", line + 1));
                }
            }
        }
    }
    assert!(checked > 150, "only {checked} names found: are the files where this test looks?");
    assert!(problems.is_empty(), "not settings (a typo, or a setting that is gone):\n{}", problems.join("\n"));
}
