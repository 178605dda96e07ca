//! Audio plumbing for narrators: reading the WAV a speech engine writes, and encoding it to
//! MP3 (played by both iOS and Android) with a pure-Rust encoder.

use rusty_mp3::{Error as Mp3Error, Mp3Encoder, Mp3EncoderConfig};

/// 16-bit PCM as read from a WAV file.
#[derive(Debug, PartialEq)]
pub struct Pcm<'a> {
    pub sample_rate: u32,
    pub channels: u16,
    /// Little-endian signed 16-bit samples, interleaved.
    pub data: &'a [u8],
}

/// Parse a 16-bit PCM WAV. Speech engines writing to a pipe cannot seek back to fill in the
/// lengths, so the `data` chunk is taken to run to the end of the bytes.
pub fn parse_wav(bytes: &[u8]) -> Result<Pcm<'_>, String> {
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err("not a WAV file".into());
    }
    let (mut pos, mut format) = (12, None);
    while pos + 8 <= bytes.len() {
        let id = &bytes[pos..pos + 4];
        let size = u32::from_le_bytes([bytes[pos + 4], bytes[pos + 5], bytes[pos + 6], bytes[pos + 7]]) as usize;
        let body = pos + 8;
        if id == b"fmt " {
            let f = bytes.get(body..body + 16).ok_or("truncated fmt chunk")?;
            let tag = u16::from_le_bytes([f[0], f[1]]);
            let channels = u16::from_le_bytes([f[2], f[3]]);
            let sample_rate = u32::from_le_bytes([f[4], f[5], f[6], f[7]]);
            let bits = u16::from_le_bytes([f[14], f[15]]);
            if tag != 1 || bits != 16 || channels == 0 {
                return Err(format!("unsupported WAV format (tag {tag}, {bits} bits, {channels} channels)"));
            }
            format = Some((sample_rate, channels));
        } else if id == b"data" {
            let (sample_rate, channels) = format.ok_or("data before fmt")?;
            let end = body.saturating_add(size).min(bytes.len());
            return Ok(Pcm { sample_rate, channels, data: &bytes[body..end] });
        }
        pos = body.saturating_add(size + (size & 1));
    }
    Err("no data chunk".into())
}

/// Encode PCM to MP3 (CBR; 48 kbps is plenty for one voice).
pub fn encode_mp3(pcm: &Pcm<'_>, kbps: u32) -> Result<Vec<u8>, String> {
    let mut encoder = Mp3Encoder::new(Mp3EncoderConfig { bitrate_kbps: kbps, vbr_quality: None });
    encoder.push_pcm_s16le(pcm.data, pcm.channels, pcm.sample_rate).map_err(|e| format!("mp3: {e:?}"))?;
    encoder.finish();
    let mut out = Vec::new();
    loop {
        match encoder.next_packet() {
            Ok(packet) => out.extend_from_slice(&packet),
            Err(Mp3Error::Eof) => return Ok(out),
            Err(e) => return Err(format!("mp3: {e:?}")),
        }
    }
}

/// Seconds of audio in a PCM buffer.
pub fn duration_secs(pcm: &Pcm<'_>) -> f64 {
    pcm.data.len() as f64 / 2.0 / f64::from(pcm.channels) / f64::from(pcm.sample_rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(samples: &[i16], rate: u32, declared: u32) -> Vec<u8> {
        let mut v = b"RIFF\xff\xff\xff\x7fWAVEfmt ".to_vec();
        v.extend_from_slice(&16u32.to_le_bytes());
        v.extend_from_slice(&1u16.to_le_bytes());
        v.extend_from_slice(&1u16.to_le_bytes());
        v.extend_from_slice(&rate.to_le_bytes());
        v.extend_from_slice(&(rate * 2).to_le_bytes());
        v.extend_from_slice(&2u16.to_le_bytes());
        v.extend_from_slice(&16u16.to_le_bytes());
        v.extend_from_slice(b"data");
        v.extend_from_slice(&declared.to_le_bytes());
        for s in samples {
            v.extend_from_slice(&s.to_le_bytes());
        }
        v
    }

    #[test]
    fn reads_streamed_wavs_with_placeholder_lengths() {
        let bytes = wav(&[1, 2, 3], 22050, u32::MAX);
        let pcm = parse_wav(&bytes).unwrap();
        assert_eq!((pcm.sample_rate, pcm.channels, pcm.data.len()), (22050, 1, 6));
        assert!(parse_wav(b"not a wav").is_err());
    }

    #[test]
    fn encodes_a_tone_to_mp3_frames() {
        let tone: Vec<i16> = (0..22050).map(|i| ((i as f32 * 0.06).sin() * 8000.0) as i16).collect();
        let bytes = wav(&tone, 22050, (tone.len() * 2) as u32);
        let mp3 = encode_mp3(&parse_wav(&bytes).unwrap(), 48).unwrap();
        assert!(mp3.len() > 3_000 && mp3.len() < 12_000, "about one second at 48 kbps: {}", mp3.len());
        assert_eq!(mp3[0], 0xff, "starts with an MPEG frame sync");
    }
}
