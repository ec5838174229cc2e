//! Appending bytes that arrive in pieces to a `String`, a whole character
//! at a time: the part of `read_line` and `read_to_string` that keeps the
//! caller's string valid UTF-8 while the text is still arriving.

use std::io;

/// The caller's string being appended to, plus the first bytes of a
/// character whose other bytes have not arrived yet.
#[derive(Debug)]
pub(crate) struct Utf8Appender<'a> {
    /// The caller's string; it only ever holds whole characters.
    buf: &'a mut String,
    /// `buf.len()` when the operation started: an error truncates back to it.
    start: usize,
    /// The start of a character split between two pieces.
    pending: [u8; 4],
    /// How many bytes of `pending` are used (at most 3).
    pending_len: usize,
    /// Bytes that are not UTF-8 were seen.
    invalid: bool,
}

impl<'a> Utf8Appender<'a> {
    /// Appends to `buf`.
    pub(crate) fn new(buf: &'a mut String) -> Utf8Appender<'a> {
        let start = buf.len();
        Utf8Appender {
            buf,
            start,
            pending: [0; 4],
            pending_len: 0,
            invalid: false,
        }
    }

    /// True once bytes that are not UTF-8 were pushed.
    pub(crate) fn is_invalid(&self) -> bool {
        self.invalid
    }

    /// Appends `bytes`: every whole character goes to the string at once;
    /// the first bytes of a character cut off at the end wait for the next
    /// push.
    pub(crate) fn push(&mut self, mut bytes: &[u8]) {
        if self.invalid {
            return;
        }
        // Complete the character begun by the last push, a byte at a time
        // (it needs at most three more).
        while self.pending_len > 0 {
            let Some((&first, rest)) = bytes.split_first() else {
                return;
            };
            bytes = rest;
            self.pending[self.pending_len] = first;
            self.pending_len += 1;
            match std::str::from_utf8(&self.pending[..self.pending_len]) {
                Ok(text) => {
                    self.buf.push_str(text);
                    self.pending_len = 0;
                }
                Err(e) if e.error_len().is_some() => {
                    self.invalid = true;
                    return;
                }
                Err(_) => {} // still incomplete
            }
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => self.buf.push_str(text),
            Err(e) => {
                let (valid, rest) = bytes.split_at(e.valid_up_to());
                self.buf
                    .push_str(std::str::from_utf8(valid).expect("checked up to here"));
                if e.error_len().is_some() {
                    self.invalid = true;
                } else {
                    // An incomplete character at the end: at most 3 bytes.
                    self.pending[..rest.len()].copy_from_slice(rest);
                    self.pending_len = rest.len();
                }
            }
        }
    }

    /// Ends the text: the bytes appended, or `InvalidData` (with the string
    /// put back as it was) if they were not UTF-8 or stopped inside a
    /// character.
    pub(crate) fn finish(&mut self) -> io::Result<usize> {
        if self.invalid || self.pending_len > 0 {
            self.buf.truncate(self.start);
            self.invalid = false;
            self.pending_len = 0;
            return Err(invalid_utf8());
        }
        Ok(self.buf.len() - self.start)
    }
}

/// The error for text that is not UTF-8.
pub(crate) fn invalid_utf8() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "stream did not contain valid UTF-8",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pushes `text`'s bytes cut at every possible pair of points.
    #[test]
    fn characters_split_anywhere_come_out_whole() {
        let text = "añ€😀z";
        let bytes = text.as_bytes();
        for i in 0..=bytes.len() {
            for j in i..=bytes.len() {
                let mut out = String::from(">");
                let mut appender = Utf8Appender::new(&mut out);
                appender.push(&bytes[..i]);
                appender.push(&bytes[i..j]);
                appender.push(&bytes[j..]);
                assert_eq!(appender.finish().unwrap(), bytes.len());
                assert_eq!(out, format!(">{text}"), "cut at {i} and {j}");
            }
        }
    }

    #[test]
    fn what_is_appended_is_always_whole_characters() {
        let mut out = String::new();
        let mut appender = Utf8Appender::new(&mut out);
        appender.push(&"a€".as_bytes()[..2]);
        assert_eq!(appender.buf, "a");
        appender.push(&"€".as_bytes()[1..]);
        assert_eq!(appender.buf, "a€");
    }

    #[test]
    fn invalid_or_unfinished_text_is_an_error_and_leaves_the_string_as_it_was() {
        for bad in [&b"ok\xffok"[..], b"ok\xe2\x82", b"\xc3("] {
            let mut out = String::from("kept");
            let mut appender = Utf8Appender::new(&mut out);
            appender.push(bad);
            let err = appender.finish().unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData);
            assert_eq!(out, "kept", "after {bad:?}");
        }
    }
}
