//! Narrators: real speech from offline engines run as separate processes (eSpeak NG, or a
//! Piper voice). Both are GPL-linked code; the process boundary keeps it out of our binary.
//! The WAV they write is encoded to MP3 here.

use super::audio::{encode_mp3, parse_wav};
use crate::config::Providers;
use actors::ports::{Media, Narrator, ProviderError};
use async_trait::async_trait;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

const MP3_KBPS: u32 = 48;

/// Whether narration works on this machine, for logs, `/readyz` and metrics.
#[derive(Clone, Debug)]
pub struct NarratorStatus {
    pub kind: String,
    pub available: bool,
    pub detail: String,
}

/// eSpeak NG, if its command answers here.
pub async fn espeak(config: &Providers) -> Result<(Arc<dyn Narrator>, String), String> {
    match probe(&config.speech.espeak_command, &["--version"]).await {
        Ok(version) => Ok((
            Arc::new(Espeak { command: config.speech.espeak_command.clone(), speed: config.speech.espeak_speed }),
            version,
        )),
        Err(e) => Err(format!("{e}; install it with `apt-get install espeak-ng`")),
    }
}

/// A Piper voice, if the command and the voice file are both there.
pub async fn piper(config: &Providers) -> Result<(Arc<dyn Narrator>, String), String> {
    let model = config.speech.piper_model.clone().ok_or("narrator = piper needs piper_model (a .onnx voice)")?;
    if !std::path::Path::new(&model).exists() {
        return Err(format!("piper voice not found at {model}"));
    }
    probe(&config.speech.piper_command, &["--help"])
        .await
        .map_err(|e| format!("{e}; install it with `pip install piper-tts`"))?;
    Ok((Arc::new(Piper { command: config.speech.piper_command.clone(), model }), "piper".into()))
}

/// Run `command args` and return the first line it prints.
async fn probe(command: &str, args: &[&str]) -> Result<String, String> {
    let run = Command::new(command).args(args).stdin(Stdio::null()).stderr(Stdio::null()).kill_on_drop(true).output();
    match tokio::time::timeout(Duration::from_secs(10), run).await {
        Ok(Ok(out)) if out.status.success() => {
            Ok(String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or(command).trim().to_owned())
        }
        Ok(Ok(out)) => Err(format!("`{command}` failed ({})", out.status)),
        Ok(Err(e)) => Err(format!("`{command}` not found ({e})")),
        Err(_) => Err(format!("`{command}` did not answer")),
    }
}

/// Feed `text` to a speech engine on stdin; return what it wrote to stdout.
async fn speak(mut command: Command, text: &str) -> Result<Vec<u8>, ProviderError> {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| ProviderError::permanent(format!("could not start the speech engine: {e}")))?;
    let mut stdin = child.stdin.take().ok_or_else(|| ProviderError::transient("no stdin"))?;
    stdin
        .write_all(text.as_bytes())
        .await
        .map_err(|e| ProviderError::transient(format!("speech engine input: {e}")))?;
    drop(stdin);
    let out = child.wait_with_output().await.map_err(|e| ProviderError::transient(format!("speech engine: {e}")))?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr);
        return Err(ProviderError::transient(format!("speech engine failed ({}): {}", out.status, why.trim())));
    }
    Ok(out.stdout)
}

async fn to_mp3(wav: Vec<u8>) -> Result<Media, ProviderError> {
    let mp3 = tokio::task::spawn_blocking(move || parse_wav(&wav).and_then(|pcm| encode_mp3(&pcm, MP3_KBPS)))
        .await
        .map_err(|e| ProviderError::transient(format!("encoder task: {e}")))?
        .map_err(ProviderError::permanent)?;
    Ok(Media { bytes: mp3, content_type: "audio/mpeg".into() })
}

/// eSpeak NG voice for a language tag (`en` reads as American English, `en-GB` as British).
fn espeak_voice(language: &str) -> String {
    let lower = language.to_ascii_lowercase();
    match lower.as_str() {
        "en" | "en-us" => "en-us".into(),
        "en-gb" | "en-uk" => "en-gb".into(),
        other => other.split('-').next().unwrap_or("en").to_owned(),
    }
}

pub struct Espeak {
    command: String,
    speed: u32,
}

#[async_trait]
impl Narrator for Espeak {
    fn name(&self) -> &str {
        "espeak"
    }

    async fn narrate(&self, text: &str, language: &str) -> Result<Media, ProviderError> {
        let mut command = Command::new(&self.command);
        // Text on stdin, never as an argument; a short pause between words for young listeners.
        command.args(["--stdout", "--stdin", "-v", &espeak_voice(language), "-s", &self.speed.to_string(), "-g", "3"]);
        to_mp3(speak(command, text).await?).await
    }
}

pub struct Piper {
    command: String,
    model: String,
}

#[async_trait]
impl Narrator for Piper {
    fn name(&self) -> &str {
        "piper"
    }

    async fn narrate(&self, text: &str, _language: &str) -> Result<Media, ProviderError> {
        let dir = tempfile::tempdir().map_err(|e| ProviderError::transient(format!("temp dir: {e}")))?;
        let out = dir.path().join("speech.wav");
        let mut command = Command::new(&self.command);
        command.arg("--model").arg(&self.model).arg("--output_file").arg(&out);
        speak(command, text).await?;
        let wav = tokio::fs::read(&out).await.map_err(|e| ProviderError::transient(format!("piper output: {e}")))?;
        to_mp3(wav).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Providers, SpeechSettings};

    #[test]
    fn voices_follow_the_language() {
        assert_eq!(espeak_voice("en"), "en-us");
        assert_eq!(espeak_voice("en-GB"), "en-gb");
        assert_eq!(espeak_voice("fr-CA"), "fr");
    }

    #[tokio::test]
    async fn a_missing_engine_is_reported_not_fatal() {
        let config = Providers {
            speech: SpeechSettings { espeak_command: "no-such-espeak-binary".into(), ..SpeechSettings::default() },
            ..Providers::default()
        };
        let (narrator, status) = crate::providers::narrator(&config).await;
        assert!(narrator.is_none());
        assert!(!status.available && status.detail.contains("apt-get install espeak-ng"), "{}", status.detail);
    }
}
