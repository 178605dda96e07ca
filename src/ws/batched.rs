//! A write buffer that holds nothing while idle: frames written in one burst are gathered and
//! sent with one flush (so several small frames leave in one segment), and the memory is given
//! back after the flush. tokio's `BufWriter` would keep 8 KiB per idle socket.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::AsyncWrite;

/// Gathered bytes beyond this are written through before more are taken.
const MAX_GATHERED: usize = 64 * 1024;
/// Taken at the start of a burst: one allocation for a typical burst of frames (a reply's
/// events), instead of the buffer growing from a frame header's few bytes by doubling.
const BURST_CAPACITY: usize = 4 * 1024;

pub struct Batched<W> {
    inner: W,
    buf: Vec<u8>,
    /// Bytes of `buf` already written to `inner`.
    written: usize,
}

impl<W> Batched<W> {
    pub fn new(inner: W) -> Self {
        Self { inner, buf: Vec::new(), written: 0 }
    }
}

impl<W: AsyncWrite + Unpin> Batched<W> {
    fn poll_write_out(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.buf.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.buf[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        // All out: give the memory back.
        self.buf = Vec::new();
        self.written = 0;
        Poll::Ready(Ok(()))
    }
}

impl<W: AsyncWrite + Unpin> AsyncWrite for Batched<W> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.buf.len() + data.len() > MAX_GATHERED {
            ready!(this.poll_write_out(cx))?;
        }
        if this.buf.capacity() == 0 {
            this.buf.reserve(BURST_CAPACITY.max(data.len()));
        }
        this.buf.extend_from_slice(data);
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_write_out(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_write_out(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn gathers_until_flushed_and_then_holds_nothing() {
        let mut out = Batched::new(Vec::new());
        out.write_all(b"one ").await.unwrap();
        out.write_all(b"two").await.unwrap();
        assert!(out.inner.is_empty(), "nothing written before the flush");
        out.flush().await.unwrap();
        assert_eq!(out.inner, b"one two");
        assert_eq!(out.buf.capacity(), 0, "idle: no buffer kept");
        let big = vec![7u8; MAX_GATHERED * 2 + 10];
        out.write_all(&big).await.unwrap();
        out.flush().await.unwrap();
        assert_eq!(out.inner.len(), 7 + big.len());
    }
}
