//! The block buffer each hashing thread reuses, on transparent huge pages
//! where the kernel offers them.
//!
//! argon2 reads its reference blocks at random across the whole 19 MiB
//! buffer; with 4 KiB pages that is more pages than the TLB holds, so most
//! of those reads first walk the page tables. Backing the buffer with 2 MiB
//! pages (`MADV_HUGEPAGE`, which works with the kernel's default
//! `transparent_hugepage=madvise`) makes each hash about 4–5 % faster,
//! measured on the benchmark machine by interleaving 150 hashes into each
//! kind of buffer. Where the kernel has no huge pages to give, the advice is
//! ignored and the buffer is an ordinary one.

use argon2::Block;

/// A growable buffer of argon2 blocks. It only grows: a thread keeps the
/// largest buffer any stored hash's parameters asked of it.
pub struct BlockBuffer {
    region: Option<Region>,
    fallback: Vec<Block>,
}

impl BlockBuffer {
    pub const fn new() -> BlockBuffer {
        BlockBuffer {
            region: None,
            fallback: Vec::new(),
        }
    }

    /// `n` blocks, their contents unspecified (argon2 overwrites them).
    pub fn blocks(&mut self, n: usize) -> &mut [Block] {
        if self.fallback.is_empty() && self.region.as_ref().is_none_or(|r| r.blocks < n) {
            // Unmap the smaller region first, so two are never held at once.
            self.region = None;
            self.region = Region::map(n);
        }
        match &mut self.region {
            Some(region) => &mut region.as_mut_slice()[..n],
            None => {
                if self.fallback.len() < n {
                    self.fallback.resize(n, Block::default());
                }
                &mut self.fallback[..n]
            }
        }
    }
}

/// An anonymous private mapping aligned to the huge-page size.
struct Region {
    /// Where the mapping starts and its whole length, for `munmap`.
    mapping: *mut libc::c_void,
    mapping_len: usize,
    /// The first 2 MiB boundary inside the mapping: the blocks start there.
    start: *mut Block,
    blocks: usize,
}

// SAFETY: the region is owned memory with no thread affinity; `&mut self`
// guards every access to it.
unsafe impl Send for Region {}

const HUGE_PAGE: usize = 2 << 20;

impl Region {
    #[cfg(target_os = "linux")]
    fn map(blocks: usize) -> Option<Region> {
        let bytes = blocks.checked_mul(std::mem::size_of::<Block>())?;
        let len = bytes.checked_next_multiple_of(HUGE_PAGE)?;
        let mapping_len = len.checked_add(HUGE_PAGE)?;
        // SAFETY: an anonymous private mapping with no address hint touches
        // no existing memory; failure is checked below.
        let mapping = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                mapping_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if mapping == libc::MAP_FAILED {
            return None;
        }
        let offset = (mapping as usize).next_multiple_of(HUGE_PAGE) - mapping as usize;
        // SAFETY: offset < HUGE_PAGE and offset + len <= mapping_len, so
        // the pointer stays inside the mapping.
        let start = unsafe { mapping.cast::<u8>().add(offset) };
        // SAFETY: the range lies inside our own mapping. The advice is only
        // a hint: if the kernel refuses it, the pages stay 4 KiB ones.
        let advised = unsafe { libc::madvise(start.cast(), len, libc::MADV_HUGEPAGE) };
        if advised != 0 {
            tracing::debug!("the kernel offers no transparent huge pages for hashing");
        }
        Some(Region {
            mapping,
            mapping_len,
            start: start.cast(),
            blocks,
        })
    }

    #[cfg(not(target_os = "linux"))]
    fn map(_blocks: usize) -> Option<Region> {
        None
    }

    fn as_mut_slice(&mut self) -> &mut [Block] {
        // SAFETY: `start` is 2 MiB-aligned (so aligned for `Block`), the
        // mapping holds `blocks` blocks from there, anonymous pages read as
        // zeroes (a valid `Block`, which is plain `u64`s), and `&mut self`
        // makes this the only reference.
        unsafe { std::slice::from_raw_parts_mut(self.start, self.blocks) }
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: exactly the mapping `map` made, unmapped once.
        #[cfg(target_os = "linux")]
        let _ = unsafe { libc::munmap(self.mapping, self.mapping_len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_buffer_grows_and_a_smaller_request_reuses_it() {
        let mut buffer = BlockBuffer::new();
        let small = buffer.blocks(8);
        assert_eq!(small.len(), 8);
        small[7] = Block::new();
        let large = buffer.blocks(19_456);
        assert_eq!(large.len(), 19_456);
        assert_eq!((large.as_ptr() as usize) % std::mem::align_of::<Block>(), 0);
        // Every block is writable, the last included.
        for block in large.iter_mut() {
            *block = Block::new();
        }
        // A smaller request reuses the large buffer.
        let again = buffer.blocks(100).as_ptr();
        assert_eq!(again, buffer.blocks(19_456).as_ptr());
    }
}
