//! A streaming zip writer: entries are stored (pictures and MP3s are already compressed) and
//! written as their bytes arrive, with CRCs and sizes in data descriptors and the central
//! directory at the end. Nothing is buffered whole.

use bytes::Bytes;

struct Entry {
    name: String,
    crc: u32,
    size: u32,
    offset: u32,
}

/// Builds the byte chunks of a zip archive, entry by entry.
#[derive(Default)]
pub struct ZipWriter {
    entries: Vec<Entry>,
    offset: u64,
    current: Option<(String, crc32fast::Hasher, u64, u64)>,
}

#[derive(Debug, thiserror::Error)]
#[error("the archive is too large for a plain zip (4 GiB)")]
pub struct TooLarge;

const FLAGS: u16 = 0x0008 | 0x0800; // sizes in a data descriptor; UTF-8 names
const DOS_DATE: u16 = 0x0021; // 1980-01-01: the archive is reproducible

impl ZipWriter {
    fn advance(&mut self, n: usize) -> Result<(), TooLarge> {
        self.offset += n as u64;
        if self.offset > u64::from(u32::MAX) { Err(TooLarge) } else { Ok(()) }
    }

    /// The local header of a new entry; then its data with [`ZipWriter::data`], then [`ZipWriter::finish_entry`].
    pub fn start_entry(&mut self, name: &str) -> Result<Bytes, TooLarge> {
        let mut h = Vec::with_capacity(30 + name.len());
        h.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        h.extend_from_slice(&20u16.to_le_bytes()); // version needed
        h.extend_from_slice(&FLAGS.to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes()); // stored
        h.extend_from_slice(&0u16.to_le_bytes()); // time
        h.extend_from_slice(&DOS_DATE.to_le_bytes());
        h.extend_from_slice(&[0; 12]); // crc and sizes follow in the descriptor
        h.extend_from_slice(&(name.len() as u16).to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes());
        h.extend_from_slice(name.as_bytes());
        self.current = Some((name.to_owned(), crc32fast::Hasher::new(), 0, self.offset));
        self.advance(h.len())?;
        Ok(h.into())
    }

    pub fn data(&mut self, chunk: &[u8]) -> Result<(), TooLarge> {
        if let Some((_, crc, size, _)) = self.current.as_mut() {
            crc.update(chunk);
            *size += chunk.len() as u64;
        }
        self.advance(chunk.len())
    }

    pub fn finish_entry(&mut self) -> Result<Bytes, TooLarge> {
        let Some((name, crc, size, offset)) = self.current.take() else { return Ok(Bytes::new()) };
        let (crc, size) = (crc.finalize(), u32::try_from(size).map_err(|_| TooLarge)?);
        let mut d = Vec::with_capacity(16);
        d.extend_from_slice(&0x0807_4b50u32.to_le_bytes());
        d.extend_from_slice(&crc.to_le_bytes());
        d.extend_from_slice(&size.to_le_bytes());
        d.extend_from_slice(&size.to_le_bytes());
        self.entries.push(Entry { name, crc, size, offset: u32::try_from(offset).map_err(|_| TooLarge)? });
        self.advance(d.len())?;
        Ok(d.into())
    }

    /// The central directory and end record.
    pub fn finish(self) -> Result<Bytes, TooLarge> {
        let start = u32::try_from(self.offset).map_err(|_| TooLarge)?;
        let mut c = Vec::new();
        for e in &self.entries {
            c.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
            c.extend_from_slice(&20u16.to_le_bytes()); // made by
            c.extend_from_slice(&20u16.to_le_bytes()); // needed
            c.extend_from_slice(&FLAGS.to_le_bytes());
            c.extend_from_slice(&0u16.to_le_bytes());
            c.extend_from_slice(&0u16.to_le_bytes());
            c.extend_from_slice(&DOS_DATE.to_le_bytes());
            c.extend_from_slice(&e.crc.to_le_bytes());
            c.extend_from_slice(&e.size.to_le_bytes());
            c.extend_from_slice(&e.size.to_le_bytes());
            c.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
            c.extend_from_slice(&[0; 12]); // extra, comment, disk, attributes
            c.extend_from_slice(&e.offset.to_le_bytes());
            c.extend_from_slice(e.name.as_bytes());
        }
        let size = u32::try_from(c.len()).map_err(|_| TooLarge)?;
        c.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        c.extend_from_slice(&[0; 4]);
        c.extend_from_slice(&(self.entries.len() as u16).to_le_bytes());
        c.extend_from_slice(&(self.entries.len() as u16).to_le_bytes());
        c.extend_from_slice(&size.to_le_bytes());
        c.extend_from_slice(&start.to_le_bytes());
        c.extend_from_slice(&0u16.to_le_bytes());
        Ok(c.into())
    }
}
