//! Storage for the bytes the decoder must keep between chunks.
//!
//! The decoder needs five buffers: the line that straddles two chunks, the
//! event's joined data, the event type, the last event id, and an id read
//! in the current block (committed by its blank line). With the
//! `alloc` feature they are `Vec<u8>`s that grow as needed (up to the
//! configured limits). Without it the caller supplies fixed storage:
//! [`SliceBuffer`] over a `&mut [u8]`, or [`ArrayBuffer`] that owns an array.

/// A byte buffer the decoder appends to and clears.
///
/// Implemented for `Vec<u8>` (feature `alloc`), [`SliceBuffer`] and
/// [`ArrayBuffer`]; implement it for other containers (for example a
/// `heapless::Vec`) if you need to.
pub trait Buffer {
    /// The bytes held.
    fn as_bytes(&self) -> &[u8];
    /// Removes all bytes, keeping the storage.
    fn clear(&mut self);
    /// Appends `bytes`, or returns `Err(())` and appends nothing if they do
    /// not fit.
    ///
    /// # Errors
    /// When the buffer's fixed capacity would be exceeded.
    #[allow(clippy::result_unit_err)]
    fn try_extend(&mut self, bytes: &[u8]) -> Result<(), ()>;
    /// The most bytes this buffer can ever hold, or `None` when it grows
    /// without a fixed bound.
    fn capacity_limit(&self) -> Option<usize>;

    /// Bytes of heap memory this buffer holds (0 for fixed storage, the
    /// default).
    fn heap_capacity(&self) -> usize {
        0
    }

    /// Gives heap memory back, keeping room for at least `keep` bytes and
    /// for what it holds. Fixed storage has nothing to give back (the
    /// default does nothing).
    fn shrink_to(&mut self, keep: usize) {
        let _ = keep;
    }
}

#[cfg(feature = "alloc")]
impl Buffer for alloc::vec::Vec<u8> {
    #[inline]
    fn as_bytes(&self) -> &[u8] {
        self
    }
    #[inline]
    fn clear(&mut self) {
        alloc::vec::Vec::clear(self);
    }
    #[inline]
    fn try_extend(&mut self, bytes: &[u8]) -> Result<(), ()> {
        if bytes.len() > self.capacity() - self.len() {
            grow(self, bytes.len())?;
        }
        self.extend_from_slice(bytes);
        Ok(())
    }
    #[inline]
    fn capacity_limit(&self) -> Option<usize> {
        None
    }
    #[inline]
    fn heap_capacity(&self) -> usize {
        self.capacity()
    }
    fn shrink_to(&mut self, keep: usize) {
        alloc::vec::Vec::shrink_to(self, keep);
    }
}

/// A `BytesMut` grows as a `Vec<u8>` does, but first takes up again the
/// memory it shares with `Bytes` split off it once those are dropped
/// (feature `bytes`). The `bytes` layer decodes into these buffers and hands
/// large straddling data out of them without a copy.
#[cfg(feature = "bytes")]
impl Buffer for bytes::BytesMut {
    #[inline]
    fn as_bytes(&self) -> &[u8] {
        self
    }
    #[inline]
    fn clear(&mut self) {
        bytes::BytesMut::clear(self);
    }
    #[inline]
    fn try_extend(&mut self, bytes: &[u8]) -> Result<(), ()> {
        if bytes.len() > self.capacity() - self.len() {
            grow_bytes(self, bytes.len())?;
        }
        self.extend_from_slice(bytes);
        Ok(())
    }
    #[inline]
    fn capacity_limit(&self) -> Option<usize> {
        None
    }
    #[inline]
    fn heap_capacity(&self) -> usize {
        self.capacity()
    }
    fn shrink_to(&mut self, keep: usize) {
        // Always to memory of its own: the capacity this buffer shows does
        // not include an allocation it shares with bytes split off it.
        let mut own = bytes::BytesMut::with_capacity(keep.max(self.len()));
        own.extend_from_slice(self);
        *self = own;
    }
}

/// Whether `part` lies inside `whole`'s memory (borrowed from it, not a
/// copy of it).
#[inline(always)]
pub(crate) fn inside(whole: &[u8], part: &[u8]) -> bool {
    spans(whole, part.as_ptr() as usize, part.len())
}

/// Whether the `len` bytes at address `at` lie inside `whole`'s memory: the
/// same test as [`inside`] for a part known only by its address (the
/// `Bytes` layer keeps where held data starts, not a slice of it).
#[inline(always)]
pub(crate) fn spans(whole: &[u8], at: usize, len: usize) -> bool {
    let base = whole.as_ptr() as usize;
    at >= base && at + len <= base + whole.len()
}

/// Appends `bytes` to `b`, growing it as the decoder's buffers grow (an
/// eighth at a time above 64 KiB, not doubling).
#[cfg(feature = "bytes")]
#[inline]
pub(crate) fn extend_bytes(b: &mut bytes::BytesMut, bytes: &[u8]) {
    let grew = Buffer::try_extend(b, bytes);
    debug_assert!(grew.is_ok(), "a length that fits in memory");
}

#[cfg(feature = "bytes")]
#[cold]
#[inline(never)]
fn grow_bytes(b: &mut bytes::BytesMut, additional: usize) -> Result<(), ()> {
    if b.try_reclaim(additional) {
        return Ok(());
    }
    let target = grown(b.len(), b.capacity(), additional)?;
    // Through a `Vec`, so that the allocator may grow the memory in place
    // (a large buffer is not held twice while it moves): a buffer that
    // owns its memory alone becomes the `Vec` without a copy; one that
    // shares it with `Bytes` split off it is copied out (the old memory
    // stays with them).
    let mut v = alloc::vec::Vec::from(core::mem::take(b));
    v.reserve_exact(target - v.len());
    // A `Bytes` made from a `Vec` owns it alone: back to `BytesMut` with
    // the `Vec`'s memory and capacity.
    *b = bytes::BytesMut::from(bytes::Bytes::from(v));
    Ok(())
}

/// Below this capacity a buffer doubles when it grows; above it, it grows
/// by an eighth.
#[cfg(feature = "alloc")]
const DOUBLE_BELOW: usize = 64 * 1024;

/// The capacity a buffer holding `len` of `cap` bytes grows to, to take
/// `additional` more: doubling up to 64 KiB (few reallocations while a line
/// arrives in small pieces, which matters because idle buffers are released
/// and regrow), then growing by an eighth, so that a buffer ends at most
/// 64 KiB or 1/8 above the longest line it held, and the total copying stays
/// linear (at most 9 times the final size). A doubling step never goes past
/// 64 KiB by more than an eighth (65,472 bytes grow to 73,656, not 130,944).
#[cfg(feature = "alloc")]
fn grown(len: usize, cap: usize, additional: usize) -> Result<usize, ()> {
    let need = len.checked_add(additional).ok_or(())?;
    let step = if cap < DOUBLE_BELOW {
        cap.min((DOUBLE_BELOW - cap).max(cap / 8))
    } else {
        cap / 8
    };
    Ok(need.max(cap + step).max(64))
}

/// Makes room for `additional` more bytes (see [`grown`]). Out of line and
/// cold, so the append on the hot path stays small.
#[cfg(feature = "alloc")]
#[cold]
#[inline(never)]
fn grow(v: &mut alloc::vec::Vec<u8>, additional: usize) -> Result<(), ()> {
    let target = grown(v.len(), v.capacity(), additional)?;
    v.reserve_exact(target - v.len());
    Ok(())
}

/// A fixed-capacity [`Buffer`] over a caller's byte slice.
///
/// # Example
/// ```
/// use ssewire::{Buffer, SliceBuffer};
/// let mut storage = [0u8; 4];
/// let mut buf = SliceBuffer::new(&mut storage);
/// assert!(buf.try_extend(b"abc").is_ok());
/// assert!(buf.try_extend(b"de").is_err()); // would exceed 4 bytes
/// assert_eq!(buf.as_bytes(), b"abc");
/// ```
#[derive(Debug)]
pub struct SliceBuffer<'s> {
    storage: &'s mut [u8],
    len: usize,
}

impl<'s> SliceBuffer<'s> {
    /// Wraps `storage`; its length is the capacity.
    ///
    /// # Panics
    /// Never.
    pub fn new(storage: &'s mut [u8]) -> Self {
        SliceBuffer { storage, len: 0 }
    }
}

impl Buffer for SliceBuffer<'_> {
    #[inline]
    fn as_bytes(&self) -> &[u8] {
        &self.storage[..self.len]
    }
    #[inline]
    fn clear(&mut self) {
        self.len = 0;
    }
    #[inline]
    fn try_extend(&mut self, bytes: &[u8]) -> Result<(), ()> {
        let end = self.len.checked_add(bytes.len()).ok_or(())?;
        let dst = self.storage.get_mut(self.len..end).ok_or(())?;
        dst.copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }
    #[inline]
    fn capacity_limit(&self) -> Option<usize> {
        Some(self.storage.len())
    }
}

/// A fixed-capacity [`Buffer`] that owns an `N`-byte array.
///
/// # Example
/// ```
/// use ssewire::{ArrayBuffer, Buffer};
/// let mut buf = ArrayBuffer::<8>::new();
/// buf.try_extend(b"id-1").unwrap();
/// assert_eq!(buf.as_bytes(), b"id-1");
/// assert_eq!(buf.capacity_limit(), Some(8));
/// ```
#[derive(Clone, Debug)]
pub struct ArrayBuffer<const N: usize> {
    storage: [u8; N],
    len: usize,
}

impl<const N: usize> ArrayBuffer<N> {
    /// An empty buffer.
    pub const fn new() -> Self {
        ArrayBuffer {
            storage: [0; N],
            len: 0,
        }
    }
}

impl<const N: usize> Default for ArrayBuffer<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Buffer for ArrayBuffer<N> {
    #[inline]
    fn as_bytes(&self) -> &[u8] {
        &self.storage[..self.len]
    }
    #[inline]
    fn clear(&mut self) {
        self.len = 0;
    }
    #[inline]
    fn try_extend(&mut self, bytes: &[u8]) -> Result<(), ()> {
        let end = self.len.checked_add(bytes.len()).ok_or(())?;
        let dst = self.storage.get_mut(self.len..end).ok_or(())?;
        dst.copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }
    #[inline]
    fn capacity_limit(&self) -> Option<usize> {
        Some(N)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_buffer_refuses_overflow_without_partial_write() {
        let mut s = [0u8; 3];
        let mut b = SliceBuffer::new(&mut s);
        b.try_extend(b"ab").unwrap();
        assert!(b.try_extend(b"cd").is_err());
        assert_eq!(b.as_bytes(), b"ab");
        b.clear();
        b.try_extend(b"xyz").unwrap();
        assert_eq!(b.as_bytes(), b"xyz");
    }

    #[test]
    fn array_buffer_refuses_overflow_without_partial_write() {
        let mut b = ArrayBuffer::<2>::new();
        assert!(b.try_extend(b"abc").is_err());
        assert_eq!(b.as_bytes(), b"");
        b.try_extend(b"a").unwrap();
        b.try_extend(b"b").unwrap();
        assert!(b.try_extend(b"c").is_err());
        assert_eq!(b.as_bytes(), b"ab");
    }
}
