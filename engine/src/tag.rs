//! The 64-bit tags ring ops carry, so a completion finds its owner.
//!
//! Layout: `kind` in bits 56..64, a 24-bit generation in bits 32..56, an index in bits 0..32.
//! The index and generation name a connection slot or an executor op slot; the generation
//! guards against a slot reused after its owner went away.
//!
//! This module only encodes and decodes; the shard and the executor decide what kinds mean.

/// What a tagged op belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// Completion nobody waits for (cancels, closes, updates): dropped on arrival.
    Ignore = 0,
    /// An executor op; index = op slot.
    Exec = 1,
    /// The shard's wake-up eventfd read.
    Wake = 2,
    /// The multishot accept of the shard's listener.
    Accept = 3,
    /// The shard's deadline timer.
    Timer = 4,
    /// The signalfd read (SIGTERM/SIGINT).
    Signal = 5,
    /// A connection's multishot recv; index = connection slot.
    Recv = 6,
    /// A connection's send; index = connection slot.
    Send = 7,
    /// The 503 send to a connection refused at the cap.
    Shed = 8,
    /// A connection's `shutdown(SHUT_WR)` before lingering; index = connection slot.
    Shutdown = 9,
    /// A connection's cancel of its recv or send; index = connection slot.
    Cancel = 10,
    /// A timer that re-arms the accept after a descriptor shortage.
    AcceptRetry = 11,
    /// A read of a connection's file body (`GET /file/{id}`); index = connection slot.
    FileRead = 12,
}

impl Kind {
    fn from_u8(byte: u8) -> Option<Kind> {
        const KINDS: [Kind; 13] = [
            Kind::Ignore,
            Kind::Exec,
            Kind::Wake,
            Kind::Accept,
            Kind::Timer,
            Kind::Signal,
            Kind::Recv,
            Kind::Send,
            Kind::Shed,
            Kind::Shutdown,
            Kind::Cancel,
            Kind::AcceptRetry,
            Kind::FileRead,
        ];
        KINDS.get(usize::from(byte)).copied()
    }
}

const GENERATION_MASK: u32 = (1 << 24) - 1;

/// Builds a tag.
pub fn encode(kind: Kind, index: u32, generation: u32) -> u64 {
    (u64::from(kind as u8) << 56)
        | (u64::from(generation & GENERATION_MASK) << 32)
        | u64::from(index)
}

/// A tag for ops whose completion is dropped.
pub const IGNORE: u64 = 0;

/// Splits a tag into kind, index and generation (generation truncated to 24 bits).
pub fn decode(tag: u64) -> (Option<Kind>, u32, u32) {
    let kind = Kind::from_u8((tag >> 56) as u8);
    let generation = ((tag >> 32) as u32) & GENERATION_MASK;
    (kind, tag as u32, generation)
}

/// Whether a stored generation matches the (truncated) generation of a tag.
pub fn same_generation(stored: u32, tagged: u32) -> bool {
    stored & GENERATION_MASK == tagged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let tag = encode(Kind::Send, 12345, 0x0abc_def0);
        let (kind, index, generation) = decode(tag);
        assert_eq!(kind, Some(Kind::Send));
        assert_eq!(index, 12345);
        assert!(same_generation(0x0abc_def0, generation));
        assert!(!same_generation(0x0abc_def1, generation));
        assert_eq!(decode(IGNORE).0, Some(Kind::Ignore));
        assert_eq!(decode(u64::MAX).0, None);
    }
}
