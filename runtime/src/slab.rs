//! A small generational slab shared by tasks and I/O slots.
//!
//! A [`Key`] names a slot *and* the generation it was handed out in. When a
//! slot is freed its generation goes up, so a stale key (a waker of a
//! finished task, an epoll event for a closed fd) no longer finds anything,
//! even after the index is reused.

/// The name of one entry: its index and the generation it was inserted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    /// Position in the slab's entry vector.
    index: u32,
    /// The slot's generation when this key was handed out.
    generation: u32,
}

impl Key {
    /// Packs the key as `(generation << 32) | index`, the epoll data word.
    pub(crate) fn to_u64(self) -> u64 {
        (u64::from(self.generation) << 32) | u64::from(self.index)
    }

    /// Unpacks a key made by [`Key::to_u64`].
    pub(crate) const fn from_u64(word: u64) -> Key {
        Key {
            index: word as u32,
            generation: (word >> 32) as u32,
        }
    }
}

/// One position in the slab.
#[derive(Debug)]
struct Entry<T> {
    /// Bumped every time the value is removed.
    generation: u32,
    /// The value, or `None` while the slot is free.
    value: Option<T>,
}

/// A vector of reusable slots addressed by generational [`Key`]s.
#[derive(Debug)]
pub(crate) struct Slab<T> {
    /// Every slot ever allocated; freed slots keep their generation.
    entries: Vec<Entry<T>>,
    /// Indices of free slots, reused last-in first-out.
    free: Vec<u32>,
    /// Number of occupied slots.
    len: usize,
    /// The generation new slots start at: above that of every slot
    /// [`shrink`](Slab::shrink) dropped, so that a key to a dropped slot
    /// never matches the slot that later takes its index.
    generation_floor: u32,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            entries: Vec::new(),
            free: Vec::new(),
            len: 0,
            generation_floor: 0,
        }
    }
}

impl<T> Slab<T> {
    /// Stores `value`, reusing a free slot when there is one.
    pub(crate) fn insert(&mut self, value: T) -> Key {
        self.insert_with(|_| value)
    }

    /// Stores the value `make` builds from the key it will live under.
    pub(crate) fn insert_with(&mut self, make: impl FnOnce(Key) -> T) -> Key {
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                let index =
                    u32::try_from(self.entries.len()).expect("slab holds at most 2^32 entries");
                self.entries.push(Entry {
                    generation: self.generation_floor,
                    value: None,
                });
                index
            }
        };
        let entry = &mut self.entries[index as usize];
        let key = Key {
            index,
            generation: entry.generation,
        };
        entry.value = Some(make(key));
        self.len += 1;
        key
    }

    /// The value under `key`, unless it was removed since.
    pub(crate) fn get(&self, key: Key) -> Option<&T> {
        let entry = self.entries.get(key.index as usize)?;
        if entry.generation != key.generation {
            return None;
        }
        entry.value.as_ref()
    }

    /// The value under `key`, mutably, unless it was removed since.
    pub(crate) fn get_mut(&mut self, key: Key) -> Option<&mut T> {
        let entry = self.entries.get_mut(key.index as usize)?;
        if entry.generation != key.generation {
            return None;
        }
        entry.value.as_mut()
    }

    /// Takes the value out and retires `key`; `None` if it was already gone.
    pub(crate) fn remove(&mut self, key: Key) -> Option<T> {
        let entry = self.entries.get_mut(key.index as usize)?;
        if entry.generation != key.generation {
            return None;
        }
        let value = entry.value.take()?;
        entry.generation = entry.generation.wrapping_add(1);
        self.free.push(key.index);
        self.len -= 1;
        Some(value)
    }

    /// Removes every value, retiring all keys, and returns them.
    pub(crate) fn drain(&mut self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len);
        for (index, entry) in self.entries.iter_mut().enumerate() {
            if let Some(value) = entry.value.take() {
                entry.generation = entry.generation.wrapping_add(1);
                self.free.push(index as u32);
                out.push(value);
            }
        }
        self.len = 0;
        out
    }

    /// The values stored, in index order.
    pub(crate) fn values(&self) -> impl Iterator<Item = &T> {
        self.entries.iter().filter_map(|entry| entry.value.as_ref())
    }

    /// Gives back the memory of the free slots at the end once most of the
    /// slab is free: after a burst, a slab that held a million entries and
    /// now holds a few does not keep the million's memory. Keys stay
    /// unique: a dropped slot's index, when reused, starts at a generation
    /// above any it had.
    pub(crate) fn shrink(&mut self) {
        if self.len * 4 > self.entries.len() {
            return;
        }
        while let Some(last) = self.entries.last() {
            if last.value.is_some() {
                break;
            }
            self.generation_floor = self.generation_floor.max(last.generation);
            self.entries.pop();
        }
        let kept = self.entries.len();
        self.free.retain(|&index| (index as usize) < kept);
        self.entries.shrink_to(kept * 2);
        self.free.shrink_to(self.free.len() * 2);
    }

    /// Slots the slab holds, free or not.
    pub(crate) fn slots(&self) -> usize {
        self.entries.len()
    }

    /// Slots the slab has memory for.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.entries.capacity()
    }

    /// Number of values stored.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// True when nothing is stored.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reused_index_gets_a_new_generation() {
        let mut slab = Slab::default();
        let a = slab.insert("a");
        assert_eq!(slab.remove(a), Some("a"));
        let b = slab.insert("b");
        assert_eq!(a.index, b.index);
        assert_ne!(a, b);
        assert_eq!(slab.get(a), None);
        assert_eq!(slab.remove(a), None);
        assert_eq!(slab.get(b), Some(&"b"));
    }

    #[test]
    fn keys_round_trip_through_the_epoll_word() {
        let mut slab = Slab::default();
        for _ in 0..3 {
            let k = slab.insert(());
            slab.remove(k);
        }
        let key = slab.insert(());
        assert_eq!(Key::from_u64(key.to_u64()), key);
        assert_eq!(key.to_u64() >> 32, 3);
    }

    #[test]
    fn shrinking_keeps_stale_keys_stale() {
        let mut slab = Slab::default();
        let keys: Vec<Key> = (0..1_000).map(|i| slab.insert(i)).collect();
        let kept = keys[0];
        for key in &keys[1..] {
            slab.remove(*key);
        }
        slab.shrink();
        assert!(slab.capacity() <= 2, "capacity {}", slab.capacity());
        // A slot that takes a dropped index again is not found by the old
        // key to that index.
        let new = slab.insert(7);
        assert_eq!(new.index, keys[1].index);
        assert!(slab.get(keys[1]).is_none());
        assert_eq!(slab.get(new), Some(&7));
        assert_eq!(slab.get(kept), Some(&0));
    }

    #[test]
    fn drain_empties_and_counts() {
        let mut slab = Slab::default();
        let keys: Vec<Key> = (0..10).map(|i| slab.insert(i)).collect();
        slab.remove(keys[3]);
        assert_eq!(slab.len(), 9);
        let mut all = slab.drain();
        all.sort();
        assert_eq!(all, vec![0, 1, 2, 4, 5, 6, 7, 8, 9]);
        assert!(slab.is_empty());
        assert!(slab.get(keys[0]).is_none());
        // Freed slots are reused.
        slab.insert(11);
        assert_eq!(slab.entries.len(), 10);
    }
}
