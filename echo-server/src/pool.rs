//! [`BufferPool`]: the buffers a server's connections read into.
//!
//! A connection needs memory for its data only while it has data in
//! flight, and on a single-threaded server it has data in flight across an
//! `await` only when its peer is slow to take the echo. So the buffers
//! belong to the server, not to the connections:
//!
//! * **The read buffer.** Every connection reads into the same buffer,
//!   borrowed for the length of one poll: it reads, writes back what it
//!   read, and, if the peer took it all, is done with it before the next
//!   connection runs. This is the hot path, and it moves no memory.
//! * **Lent buffers.** When the peer does not take the whole echo at once,
//!   the connection keeps the rest: it is lent the read buffer, which holds
//!   it, and the pool puts a free buffer in its place; or, with no free
//!   buffer at hand, the rest is copied into a buffer of its own size
//!   (cheaper than making and zeroing a whole new buffer). The connection
//!   gives the buffer back once the rest is written; the pool keeps it if
//!   it is a whole one and there is room.
//!
//! The pool keeps a few free buffers for the next time; buffers given back
//! beyond that are freed, so a burst of slow peers does not leave the
//! server holding a buffer for each of them for ever. An idle connection,
//! however much it talked before, holds none.

use std::cell::{RefCell, RefMut};
use std::fmt;

/// Buffers for the connections of one server, which runs on one thread
/// (the pool is neither `Send` nor `Sync`).
///
/// A buffer is lent as a `Box<[u8]>` and should be given back with
/// [`give_back`](BufferPool::give_back) once its data is echoed. One that is
/// not given back (say, its task was aborted) is simply freed.
///
/// # Examples
///
/// ```
/// use echo_server::BufferPool;
///
/// let pool = BufferPool::new(16 * 1024, 4);
/// let buffer = pool.lend(); // allocated: the pool was empty
/// assert_eq!(buffer.len(), 16 * 1024);
/// pool.give_back(buffer);
/// assert_eq!(pool.free_buffers(), 1);
/// let again = pool.lend(); // the same buffer, no allocation
/// assert_eq!(pool.free_buffers(), 0);
/// # drop(again);
/// ```
pub struct BufferPool {
    /// Bytes per buffer.
    size: usize,
    /// Free buffers kept at most, besides the read buffer.
    keep: usize,
    /// The buffer connections read into.
    ///
    /// # Invariant
    ///
    /// Never empty: `size` bytes long.
    read: RefCell<Box<[u8]>>,
    /// The other free buffers.
    ///
    /// # Invariant
    ///
    /// At most `keep` of them; every buffer in the pool is `size` bytes
    /// long.
    others: RefCell<Vec<Box<[u8]>>>,
}

impl fmt::Debug for BufferPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufferPool")
            .field("size", &self.size)
            .field("keep", &self.keep)
            .field("free", &self.free_buffers())
            .finish()
    }
}

impl BufferPool {
    /// A pool of `size`-byte buffers (at least one byte): the read buffer,
    /// allocated now, and at most `keep` free ones besides.
    pub fn new(size: usize, keep: usize) -> BufferPool {
        let size = size.max(1);
        BufferPool {
            size,
            keep,
            read: RefCell::new(vec![0; size].into_boxed_slice()),
            others: RefCell::new(Vec::with_capacity(keep)),
        }
    }

    /// A buffer for the caller to keep: a free one if there is one, else a
    /// new one.
    pub fn lend(&self) -> Box<[u8]> {
        let other = self.others.borrow_mut().pop();
        other.unwrap_or_else(|| self.allocate())
    }

    /// A new buffer.
    #[cold]
    fn allocate(&self) -> Box<[u8]> {
        vec![0; self.size].into_boxed_slice()
    }

    /// Takes `bytes` back: kept if fewer than `keep` are free, else freed
    /// (as is a buffer of another size).
    pub fn give_back(&self, bytes: Box<[u8]>) {
        if bytes.len() != self.size {
            return;
        }
        let mut others = self.others.borrow_mut();
        if others.len() < self.keep {
            others.push(bytes);
        }
    }

    /// The read buffer, for the length of one poll.
    ///
    /// # Panics
    ///
    /// If it is already borrowed: a connection that holds it across an
    /// `await` is a bug.
    #[inline]
    pub(crate) fn read_buffer(&self) -> RefMut<'_, Box<[u8]>> {
        self.read.borrow_mut()
    }

    /// Keeps `read[start..end]`, bytes of the read buffer (borrowed from
    /// this pool) that a connection's peer did not take, for the
    /// connection: returns a buffer holding them and where they are in it.
    ///
    /// With a free buffer at hand the read buffer itself is lent, and the
    /// free one takes its place: nothing is copied. Otherwise the bytes are
    /// copied into a new buffer of just their size (which is freed once
    /// written, not kept), rather than allocating (and zeroing) a whole
    /// buffer to replace the read buffer.
    #[cold]
    pub(crate) fn keep_unsent(
        &self,
        read: &mut RefMut<'_, Box<[u8]>>,
        start: usize,
        end: usize,
    ) -> (Box<[u8]>, usize, usize) {
        let free = self.others.borrow_mut().pop();
        match free {
            Some(free) => (std::mem::replace(&mut **read, free), start, end),
            None => (Box::from(&read[start..end]), 0, end - start),
        }
    }

    /// How many free buffers the pool holds now, besides the read buffer
    /// (which it always holds).
    pub fn free_buffers(&self) -> usize {
        self.others.borrow().len()
    }

    /// The size of each buffer, in bytes.
    pub fn buffer_size(&self) -> usize {
        self.size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_given_back_is_lent_again() {
        let pool = BufferPool::new(64, 2);
        let buffer = pool.lend();
        let address = buffer.as_ptr();
        assert_eq!(buffer.len(), 64);
        pool.give_back(buffer);
        assert_eq!(pool.free_buffers(), 1);
        let again = pool.lend();
        assert_eq!(again.as_ptr(), address);
        assert_eq!(pool.free_buffers(), 0);
    }

    #[test]
    fn many_out_at_once_then_back() {
        let pool = BufferPool::new(8, 3);
        let out: Vec<_> = (0..10).map(|_| pool.lend()).collect();
        out.into_iter().for_each(|b| pool.give_back(b));
        assert_eq!(pool.free_buffers(), 3, "the surplus is freed");
        let out: Vec<_> = (0..3).map(|_| pool.lend()).collect();
        assert_eq!(pool.free_buffers(), 0);
        out.into_iter().for_each(|b| pool.give_back(b));
        assert_eq!(pool.free_buffers(), 3);
    }

    #[test]
    fn unsent_bytes_take_the_read_buffer_when_a_free_one_replaces_it() {
        let pool = BufferPool::new(16, 2);
        pool.give_back(pool.lend()); // one free buffer
        let first = pool.read_buffer().as_ptr();
        assert_eq!(pool.read_buffer().as_ptr(), first, "the same buffer");
        pool.read_buffer()[4..9].copy_from_slice(b"hello");
        // A slow peer keeps the read buffer; the free one takes its place.
        let (kept, start, end) = pool.keep_unsent(&mut pool.read_buffer(), 4, 9);
        assert_eq!((kept.as_ptr(), start, end), (first, 4, 9));
        assert_eq!(&kept[start..end], b"hello");
        assert_ne!(pool.read_buffer().as_ptr(), first);
        assert_eq!(pool.read_buffer().len(), 16);
        assert_eq!(pool.free_buffers(), 0);
        pool.give_back(kept);
        assert_eq!(pool.free_buffers(), 1);
    }

    #[test]
    fn without_a_free_buffer_unsent_bytes_are_copied() {
        let pool = BufferPool::new(16, 2);
        let first = pool.read_buffer().as_ptr();
        pool.read_buffer()[4..9].copy_from_slice(b"hello");
        let (kept, start, end) = pool.keep_unsent(&mut pool.read_buffer(), 4, 9);
        assert_eq!(&kept[start..end], b"hello");
        assert_eq!(kept.len(), 5, "just the unsent bytes");
        assert_eq!(pool.read_buffer().as_ptr(), first, "the read buffer stays");
        pool.give_back(kept); // not a whole buffer: freed
        assert_eq!(pool.free_buffers(), 0);
    }

    #[test]
    fn a_pool_may_keep_none_and_frees_strangers() {
        let pool = BufferPool::new(8, 0);
        pool.give_back(pool.lend());
        assert_eq!(pool.free_buffers(), 0);
        let pool = BufferPool::new(8, 1);
        pool.give_back(vec![0; 9].into_boxed_slice()); // another size
        pool.give_back(Box::default()); // what an idle connection holds
        assert_eq!(pool.free_buffers(), 0);
        assert_eq!(pool.buffer_size(), 8);
    }
}
