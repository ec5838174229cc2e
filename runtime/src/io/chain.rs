//! [`Chain`]: one reader after another.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use pin_project_lite::pin_project;

use super::{AsyncBufRead, AsyncRead};

pin_project! {
    /// Reads the first reader to its end, then the second; see
    /// [`AsyncReadExt::chain`](super::AsyncReadExt::chain).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::io::{AsyncBufReadExt, AsyncReadExt};
    ///
    /// runtime::block_on(async {
    ///     let mut lines = (&b"one\ntw"[..]).chain(&b"o\n"[..]).lines();
    ///     assert_eq!(lines.next_line().await?.as_deref(), Some("one"));
    ///     assert_eq!(lines.next_line().await?.as_deref(), Some("two"));
    ///     assert_eq!(lines.next_line().await?, None);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    #[derive(Debug)]
    #[must_use = "readers do nothing unless read"]
    pub struct Chain<A, B> {
        // The reader read first.
        #[pin]
        first: A,
        // The reader read after `first` ended.
        #[pin]
        second: B,
        // `first` reported end of stream.
        first_done: bool,
    }
}

impl<A, B> Chain<A, B> {
    /// `first`, then `second`.
    pub(super) fn new(first: A, second: B) -> Chain<A, B> {
        Chain {
            first,
            second,
            first_done: false,
        }
    }

    /// Both readers.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     use std::pin::Pin;
    ///     use runtime::io::AsyncReadExt;
    ///
    ///     let mut both = (&b"ab"[..]).chain(&b"cd"[..]);
    ///     assert_eq!(both.get_ref(), (&&b"ab"[..], &&b"cd"[..]));
    ///     both.get_mut().0.read_u8().await?;
    ///     let (first, _) = Pin::new(&mut both).get_pin_mut();
    ///     assert_eq!(*first, b"b");
    ///     assert_eq!(both.into_inner(), (&b"b"[..], &b"cd"[..]));
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn get_ref(&self) -> (&A, &B) {
        (&self.first, &self.second)
    }

    /// Both readers.
    ///
    /// The example of [`get_ref`](Self::get_ref) shows it.
    pub fn get_mut(&mut self) -> (&mut A, &mut B) {
        (&mut self.first, &mut self.second)
    }

    /// Both readers, pinned.
    ///
    /// The example of [`get_ref`](Self::get_ref) shows it.
    pub fn get_pin_mut(self: Pin<&mut Self>) -> (Pin<&mut A>, Pin<&mut B>) {
        let this = self.project();
        (this.first, this.second)
    }

    /// Both readers back.
    ///
    /// The example of [`get_ref`](Self::get_ref) shows it.
    pub fn into_inner(self) -> (A, B) {
        (self.first, self.second)
    }
}

impl<A: AsyncRead, B: AsyncRead> AsyncRead for Chain<A, B> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        if !*this.first_done {
            match ready!(this.first.poll_read(cx, buf))? {
                // An empty `buf` reads 0 without meaning end of stream.
                0 if !buf.is_empty() => *this.first_done = true,
                n => return Poll::Ready(Ok(n)),
            }
        }
        this.second.poll_read(cx, buf)
    }
}

impl<A: AsyncBufRead, B: AsyncBufRead> AsyncBufRead for Chain<A, B> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.project();
        if !*this.first_done {
            match ready!(this.first.poll_fill_buf(cx))? {
                [] => *this.first_done = true,
                available => return Poll::Ready(Ok(available)),
            }
        }
        this.second.poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let this = self.project();
        if *this.first_done {
            this.second.consume(amt)
        } else {
            this.first.consume(amt)
        }
    }
}
