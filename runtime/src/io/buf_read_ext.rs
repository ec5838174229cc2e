//! [`AsyncBufReadExt`]: the `async fn` helpers of every [`AsyncBufRead`],
//! their futures, and the [`Lines`] and [`Split`] streams.

use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use pin_project_lite::pin_project;

use super::utf8::{invalid_utf8, Utf8Appender};
use super::AsyncBufRead;
use crate::coop;

/// `async fn` helpers for every [`AsyncBufRead`]: reading lines and
/// delimited segments.
///
/// # Examples
///
/// ```
/// use runtime::io::{AsyncBufReadExt, BufReader};
///
/// runtime::block_on(async {
///     let mut lines = BufReader::new(&b"one\ntwo\r\nthree"[..]).lines();
///     let mut got = Vec::new();
///     while let Some(line) = lines.next_line().await? {
///         got.push(line);
///     }
///     assert_eq!(got, ["one", "two", "three"]);
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub trait AsyncBufReadExt: AsyncBufRead {
    /// Reads into `buf` up to and including the first `byte`, or to end of
    /// stream; returns how many bytes were appended (0 at end of stream).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: bytes are appended to `buf` as they are taken from the
    /// reader, so after a dropped future `buf` holds what was read and a
    /// new call continues the same segment.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::io::AsyncBufReadExt;
    ///
    /// runtime::block_on(async {
    ///     let mut reader = &b"key=value"[..];
    ///     let mut key = Vec::new();
    ///     assert_eq!(reader.read_until(b'=', &mut key).await?, 4);
    ///     assert_eq!(key, b"key=");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    fn read_until<'a>(&'a mut self, byte: u8, buf: &'a mut Vec<u8>) -> ReadUntil<'a, Self>
    where
        Self: Unpin,
    {
        ReadUntil {
            reader: self,
            byte,
            buf,
            read: 0,
        }
    }

    /// Reads one line into `buf`, including its `\n` (absent only from the
    /// last line of a stream), and returns its length in bytes; 0 at end of
    /// stream.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe for whole characters: the line's text is appended to
    /// `buf` as it arrives, so after a dropped future `buf` holds what was
    /// read and a new call finishes the line. The exception is a character
    /// whose bytes were split between two reads: its first bytes (at most
    /// three) wait in the future for the rest and are lost with it. For a
    /// lossless line reader, keep the state in the reader: use
    /// [`lines`](AsyncBufReadExt::lines).
    ///
    /// # Errors
    ///
    /// `InvalidData` if the line is not UTF-8: the line is consumed and
    /// `buf` left as it was before the call. Or the reader's error (`buf`
    /// keeps the text read before it).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::io::AsyncBufReadExt;
    ///
    /// runtime::block_on(async {
    ///     let mut reader = &b"hello\nworld"[..];
    ///     let mut line = String::new();
    ///     assert_eq!(reader.read_line(&mut line).await?, 6);
    ///     assert_eq!(reader.read_line(&mut line).await?, 5);
    ///     assert_eq!(reader.read_line(&mut line).await?, 0);
    ///     assert_eq!(line, "hello\nworld");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    fn read_line<'a>(&'a mut self, buf: &'a mut String) -> ReadLine<'a, Self>
    where
        Self: Unpin,
    {
        ReadLine {
            reader: self,
            text: Utf8Appender::new(buf),
        }
    }

    /// The lines of this reader, without their `\n` or `\r\n`, as a
    /// [`Stream`](futures_core::Stream) or one at a time from
    /// [`Lines::next_line`].
    ///
    /// # Examples
    ///
    /// See [`AsyncBufReadExt`].
    fn lines(self) -> Lines<Self>
    where
        Self: Sized,
    {
        Lines {
            reader: self,
            segments: Segments::new(b'\n'),
        }
    }

    /// The segments of this reader separated by `byte` (which they do not
    /// include), as a [`Stream`](futures_core::Stream) or one at a time from
    /// [`Split::next_segment`].
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::io::{AsyncBufReadExt, BufReader};
    ///
    /// runtime::block_on(async {
    ///     // (A bare `&[u8]` would call the slice's own `split`.)
    ///     let mut fields = BufReader::new(&b"a,b,,c"[..]).split(b',');
    ///     let mut got = Vec::new();
    ///     while let Some(field) = fields.next_segment().await? {
    ///         got.push(field);
    ///     }
    ///     assert_eq!(got, [&b"a"[..], b"b", b"", b"c"]);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    fn split(self, byte: u8) -> Split<Self>
    where
        Self: Sized,
    {
        Split {
            reader: self,
            segments: Segments::new(byte),
        }
    }

    /// The buffered bytes, reading more first if there are none; an empty
    /// slice means end of stream. Follow with
    /// [`consume`](AsyncBufReadExt::consume).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: nothing is consumed until `consume` is called.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::io::AsyncBufReadExt;
    ///
    /// runtime::block_on(async {
    ///     let mut reader = &b"peek"[..];
    ///     assert_eq!(reader.fill_buf().await?, b"peek");
    ///     reader.consume(2);
    ///     assert_eq!(reader.fill_buf().await?, b"ek");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    fn fill_buf(&mut self) -> FillBuf<'_, Self>
    where
        Self: Unpin,
    {
        FillBuf { reader: Some(self) }
    }

    /// Marks `amt` bytes of what [`fill_buf`](AsyncBufReadExt::fill_buf)
    /// returned as read. See `fill_buf` for an example.
    fn consume(&mut self, amt: usize)
    where
        Self: Unpin,
    {
        Pin::new(self).consume(amt)
    }
}

impl<R: AsyncBufRead + ?Sized> AsyncBufReadExt for R {}

/// The future of [`AsyncBufReadExt::read_until`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct ReadUntil<'a, R: ?Sized> {
    /// The reader.
    reader: &'a mut R,
    /// Where the segment ends.
    byte: u8,
    /// Where the bytes go.
    buf: &'a mut Vec<u8>,
    /// How many bytes this call appended.
    read: usize,
}

impl<R: AsyncBufRead + Unpin + ?Sized> Future for ReadUntil<'_, R> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            let (done, used) = {
                let available = ready!(Pin::new(&mut *this.reader).poll_fill_buf(cx))?;
                match available.iter().position(|&b| b == this.byte) {
                    Some(i) => {
                        this.buf.extend_from_slice(&available[..=i]);
                        (true, i + 1)
                    }
                    None => {
                        this.buf.extend_from_slice(available);
                        (available.is_empty(), available.len())
                    }
                }
            };
            Pin::new(&mut *this.reader).consume(used);
            this.read += used;
            if done {
                return Poll::Ready(Ok(this.read));
            }
        }
    }
}

/// The future of [`AsyncBufReadExt::read_line`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct ReadLine<'a, R: ?Sized> {
    /// The reader.
    reader: &'a mut R,
    /// The caller's string, and the start of a character not complete yet.
    text: Utf8Appender<'a>,
}

impl<R: AsyncBufRead + Unpin + ?Sized> Future for ReadLine<'_, R> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            let (done, used) = {
                let available = ready!(Pin::new(&mut *this.reader).poll_fill_buf(cx))?;
                match available.iter().position(|&b| b == b'\n') {
                    Some(i) => {
                        this.text.push(&available[..=i]);
                        (true, i + 1)
                    }
                    None => {
                        this.text.push(available);
                        (available.is_empty(), available.len())
                    }
                }
            };
            Pin::new(&mut *this.reader).consume(used);
            if done {
                return Poll::Ready(this.text.finish());
            }
        }
    }
}

/// The future of [`AsyncBufReadExt::fill_buf`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct FillBuf<'a, R: ?Sized> {
    /// The reader; taken when the future completes.
    reader: Option<&'a mut R>,
}

impl<'a, R: AsyncBufRead + Unpin + ?Sized> Future for FillBuf<'a, R> {
    type Output = io::Result<&'a [u8]>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let reader = self
            .reader
            .take()
            .expect("FillBuf polled after it completed");
        // The slice must borrow the reader for `'a`, which a poll through a
        // reborrow cannot give (the borrow checker cannot see that the
        // `Pending` arm gives the reader back). So: poll through a reborrow
        // to learn whether the buffer is ready, then, if it is, poll again
        // through the `'a` borrow. The second poll only returns the same
        // buffer, and is given back the budget the first one charged, so
        // the operation is paid for once.
        let budget = coop::left();
        match Pin::new(&mut *reader).poll_fill_buf(cx) {
            Poll::Pending => {
                self.reader = Some(reader);
                return Poll::Pending;
            }
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Ready(Ok(_)) => {}
        }
        coop::restore(budget);
        match Pin::new(reader).poll_fill_buf(cx) {
            Poll::Ready(result) => Poll::Ready(result),
            Poll::Pending => Poll::Ready(Err(io::Error::other(
                "poll_fill_buf returned Pending right after returning a buffer",
            ))),
        }
    }
}

/// The state shared by [`Lines`] and [`Split`]: the part of a segment read
/// so far, kept here (in the reader's struct, not in a future) so that a
/// dropped `next_line` loses nothing.
#[derive(Debug)]
struct Segments {
    /// The byte that ends a segment.
    delimiter: u8,
    /// The segment read so far, without the delimiter.
    partial: Vec<u8>,
    /// The longest segment accepted, in bytes.
    max_len: usize,
    /// An overlong segment was reported; its rest is being skipped.
    skipping: bool,
}

impl Segments {
    /// No segment read yet; no length limit.
    fn new(delimiter: u8) -> Segments {
        Segments {
            delimiter,
            partial: Vec::new(),
            max_len: usize::MAX,
            skipping: false,
        }
    }

    /// Reads the next segment from `reader`; `None` at end of stream.
    fn poll_next<R: AsyncBufRead + ?Sized>(
        &mut self,
        mut reader: Pin<&mut R>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<Option<Vec<u8>>>> {
        loop {
            let available = ready!(reader.as_mut().poll_fill_buf(cx))?;
            if available.is_empty() {
                // End of stream: what was read is the last segment.
                self.skipping = false;
                if self.partial.is_empty() {
                    return Poll::Ready(Ok(None));
                }
                return Poll::Ready(Ok(Some(std::mem::take(&mut self.partial))));
            }
            let (segment, used, ended) = match available.iter().position(|&b| b == self.delimiter) {
                Some(i) => (&available[..i], i + 1, true),
                None => (available, available.len(), false),
            };
            let skipping = self.skipping;
            let too_long = !skipping && self.partial.len() + segment.len() > self.max_len;
            if !skipping && !too_long {
                self.partial.extend_from_slice(segment);
            }
            reader.as_mut().consume(used);
            if too_long {
                self.partial.clear();
                self.skipping = !ended;
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("segment longer than {} bytes", self.max_len),
                )));
            }
            if ended {
                self.skipping = false;
                if !skipping {
                    return Poll::Ready(Ok(Some(std::mem::take(&mut self.partial))));
                }
            }
        }
    }
}

pin_project! {
    /// The lines of a reader; see [`AsyncBufReadExt::lines`].
    ///
    /// A line that has only partly arrived is kept here, so dropping a
    /// [`next_line`](Lines::next_line) future (a `timeout` that fires, a
    /// `select` that picks another branch) loses nothing: the next call
    /// returns the whole line.
    #[derive(Debug)]
    #[must_use = "streams do nothing unless polled"]
    pub struct Lines<R> {
        #[pin]
        reader: R,
        segments: Segments,
    }
}

impl<R: AsyncBufRead> Lines<R> {
    /// The next line, without its `\n` or `\r\n`, or `None` at end of
    /// stream.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: the part of a line read so far stays in the `Lines`.
    ///
    /// # Errors
    ///
    /// The reader's error; `InvalidData` if the line is not UTF-8 (the
    /// line is skipped) or longer than [`set_max_len`](Lines::set_max_len)
    /// (the rest of the line is skipped). The following lines can still
    /// be read after either.
    ///
    /// # Examples
    ///
    /// See [`AsyncBufReadExt`].
    pub async fn next_line(&mut self) -> io::Result<Option<String>>
    where
        R: Unpin,
    {
        poll_fn(|cx| Pin::new(&mut *self).poll_next_line(cx)).await
    }

    /// Polls for the next line; see [`next_line`](Lines::next_line).
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     use std::pin::Pin;
    ///     use runtime::io::AsyncBufReadExt;
    ///
    ///     let mut lines = (&b"one\ntwo\n"[..]).lines();
    ///     assert_eq!(lines.get_ref().len(), 8);
    ///     assert_eq!(*lines.get_mut(), b"one\ntwo\n");
    ///     let line = std::future::poll_fn(|cx| Pin::new(&mut lines).poll_next_line(cx)).await?;
    ///     assert_eq!(line.as_deref(), Some("one"));
    ///     assert_eq!(Pin::new(&mut lines).get_pin_mut().len(), 4);
    ///     assert_eq!(lines.into_inner(), b"two\n");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn poll_next_line(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<Option<String>>> {
        let this = self.project();
        let Some(mut line) = ready!(this.segments.poll_next(this.reader, cx))? else {
            return Poll::Ready(Ok(None));
        };
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Poll::Ready(
            String::from_utf8(line)
                .map(Some)
                .map_err(|_| invalid_utf8()),
        )
    }

    /// Limits lines to `max_len` bytes (without the line ending): a longer
    /// line is an `InvalidData` error, and its rest is skipped. There is no
    /// limit by default; set one for input from peers you do not trust.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::io::AsyncBufReadExt;
    ///
    /// runtime::block_on(async {
    ///     let mut lines = (&b"short\nmuch too long\nok\n"[..]).lines();
    ///     lines.set_max_len(5);
    ///     assert_eq!(lines.next_line().await?.as_deref(), Some("short"));
    ///     assert!(lines.next_line().await.is_err());
    ///     assert_eq!(lines.next_line().await?.as_deref(), Some("ok"));
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_max_len(&mut self, max_len: usize) {
        self.segments.max_len = max_len;
    }
}

impl<R> Lines<R> {
    /// The reader.
    ///
    /// The example of [`poll_next_line`](Self::poll_next_line) shows it.
    pub fn get_ref(&self) -> &R {
        &self.reader
    }

    /// The reader. Reading from it directly skips what `Lines` buffered.
    ///
    /// The example of [`poll_next_line`](Self::poll_next_line) shows it.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.reader
    }

    /// The reader, pinned.
    ///
    /// The example of [`poll_next_line`](Self::poll_next_line) shows it.
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut R> {
        self.project().reader
    }

    /// The reader back; a line that had only partly arrived is lost.
    ///
    /// The example of [`poll_next_line`](Self::poll_next_line) shows it.
    pub fn into_inner(self) -> R {
        self.reader
    }
}

impl<R: AsyncBufRead> futures_core::Stream for Lines<R> {
    type Item = io::Result<String>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.poll_next_line(cx).map(Result::transpose)
    }
}

pin_project! {
    /// The segments of a reader; see [`AsyncBufReadExt::split`].
    ///
    /// Like [`Lines`], it keeps a segment that has only partly arrived, so
    /// a dropped [`next_segment`](Split::next_segment) loses nothing.
    #[derive(Debug)]
    #[must_use = "streams do nothing unless polled"]
    pub struct Split<R> {
        #[pin]
        reader: R,
        segments: Segments,
    }
}

impl<R: AsyncBufRead> Split<R> {
    /// The next segment, without its delimiter, or `None` at end of
    /// stream.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: the part of a segment read so far stays in the `Split`.
    ///
    /// # Errors
    ///
    /// The reader's error, or `InvalidData` for a segment longer than
    /// [`set_max_len`](Split::set_max_len) (its rest is skipped).
    ///
    /// # Examples
    ///
    /// See [`AsyncBufReadExt::split`].
    pub async fn next_segment(&mut self) -> io::Result<Option<Vec<u8>>>
    where
        R: Unpin,
    {
        poll_fn(|cx| Pin::new(&mut *self).poll_next_segment(cx)).await
    }

    /// Polls for the next segment; see
    /// [`next_segment`](Split::next_segment).
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     use std::pin::Pin;
    ///     use runtime::io::{AsyncBufReadExt, BufReader};
    ///
    ///     let mut fields = BufReader::new(&b"a,b"[..]).split(b',');
    ///     let field = std::future::poll_fn(|cx| Pin::new(&mut fields).poll_next_segment(cx)).await?;
    ///     assert_eq!(field.as_deref(), Some(&b"a"[..]));
    ///     assert_eq!(fields.get_ref().buffer(), b"b");
    ///     fields.get_mut().consume(1);
    ///     assert!(fields.into_inner().buffer().is_empty());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn poll_next_segment(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<Option<Vec<u8>>>> {
        let this = self.project();
        this.segments.poll_next(this.reader, cx)
    }

    /// Limits segments to `max_len` bytes: a longer one is an
    /// `InvalidData` error, and its rest is skipped. No limit by default.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::io::{AsyncBufReadExt, BufReader};
    ///
    /// runtime::block_on(async {
    ///     let mut fields = BufReader::new(&b"abc,abcdef,ab"[..]).split(b',');
    ///     fields.set_max_len(3);
    ///     assert_eq!(fields.next_segment().await?.unwrap(), b"abc");
    ///     assert!(fields.next_segment().await.is_err());
    ///     assert_eq!(fields.next_segment().await?.unwrap(), b"ab");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_max_len(&mut self, max_len: usize) {
        self.segments.max_len = max_len;
    }
}

impl<R> Split<R> {
    /// The reader.
    ///
    /// The example of [`poll_next_segment`](Self::poll_next_segment) shows it.
    pub fn get_ref(&self) -> &R {
        &self.reader
    }

    /// The reader. Reading from it directly skips what `Split` buffered.
    ///
    /// The example of [`poll_next_segment`](Self::poll_next_segment) shows it.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.reader
    }

    /// The reader back; a segment that had only partly arrived is lost.
    ///
    /// The example of [`poll_next_segment`](Self::poll_next_segment) shows it.
    pub fn into_inner(self) -> R {
        self.reader
    }
}

impl<R: AsyncBufRead> futures_core::Stream for Split<R> {
    type Item = io::Result<Vec<u8>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.poll_next_segment(cx).map(Result::transpose)
    }
}
