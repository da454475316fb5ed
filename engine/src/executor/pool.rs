//! The buffer pool of a reactor: where the buffers of abandoned ops go when their completion
//! finally arrives, ready for reuse. Bounded in count and in buffer size.

/// Buffers whose ops were abandoned, kept for reuse.
#[derive(Debug, Default)]
pub struct BufPool {
    bufs: Vec<Vec<u8>>,
    returned: u64,
}

impl BufPool {
    /// Buffers in the pool.
    pub fn len(&self) -> usize {
        self.bufs.len()
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.bufs.is_empty()
    }

    /// How many buffers were ever returned to the pool.
    pub fn returned(&self) -> u64 {
        self.returned
    }

    /// Takes a cleared buffer with at least `capacity` bytes of capacity.
    pub fn take(&mut self, capacity: usize) -> Vec<u8> {
        match self.bufs.iter().position(|buf| buf.capacity() >= capacity) {
            Some(at) => self.bufs.swap_remove(at),
            None => Vec::with_capacity(capacity),
        }
    }

    /// Returns a buffer (cleared; dropped if the pool is full).
    pub fn give(&mut self, mut buf: Vec<u8>) {
        if buf.capacity() == 0 {
            return;
        }
        self.returned += 1;
        if self.bufs.len() < crate::limits::BUFFER_POOL_COUNT_MAX
            && buf.capacity() <= crate::limits::POOLED_BUFFER_BYTES_MAX
        {
            buf.clear();
            self.bufs.push(buf);
        }
    }
}
