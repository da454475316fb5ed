//! The pre-decoded code of a program: one [`Op`] per halfword of executable memory.
//!
//! [`Code::build`] decodes every halfword of the executable segments once, at load: a halfword
//! whose low two bits are not `0b11` is an RVC instruction ([`crate::rvc`]), anything else the
//! start of a 32-bit instruction ([`crate::decode`]). Every halfword gets its own decode, so a
//! jump into the middle of a 32-bit instruction executes whatever those bits mean, exactly as
//! hardware would; a 32-bit instruction whose second half is not executable decodes to
//! [`Kind::FetchFault`]. Halfwords between executable segments are `FetchFault` too.
//!
//! Block lengths ([`Op::blk`]) are computed backwards: an op that ends a block (control
//! transfer, system, trap) has `blk = 1`, any other `1 + blk(next)`. A straight-line run longer
//! than [`BLOCK_INSNS_MAX`] is cut: the op where the count would exceed the cap is moved to the
//! `splits` table and replaced by a [`Kind::Split`] that points at it (with `blk = 0`: the
//! interpreter's `Split` arm charges the displaced op's block, whether it was reached by a jump
//! or by falling through).
//!
//! In the same backward pass, adjacent ops listed in [`crate::fuse::FUSED`] are fused: the first op's slot gets the
//! fused kind (one dispatch runs both), the second keeps its own fields, so a jump to it still
//! runs it alone; a pair never crosses a block cut.
//!
//! Layout of `ops` (indices are `(pc - base) / 2`):
//!
//! ```text
//! base                                   end = base + 2n
//! | op | op | op (2nd half) | op | ... | FetchFault | Stop |
//!   0    1    2               3          n            n+1 = exit sentinel
//! ```
//!
//! The `FetchFault` at `n` catches execution running off the end; the `Stop` at `n + 1` is the
//! exit address calls return to ([`Code::exit_pc`]). The table is immutable once built and is
//! shared (borrowed) by every instance of a template.

use crate::decode::decode32;
use crate::limits::BLOCK_INSNS_MAX;
use crate::op::{Kind, Op};
use crate::rvc;

/// One executable range: its first address and its bytes (file bytes then zero fill).
#[derive(Debug, Clone, Copy)]
pub struct ExecRange<'a> {
    /// Guest address of `bytes[0]` (even).
    pub vaddr: u64,
    /// The bytes.
    pub bytes: &'a [u8],
}

/// Pre-decoded code (see the module doc).
#[derive(Debug, Clone)]
pub struct Code {
    base: u64,
    ops: Box<[Op]>,
    splits: Box<[Op]>,
}

impl Code {
    /// Decodes `ranges` (sorted or not, non-overlapping, each starting at an even address). The
    /// caller bounds the span (`CODE_BYTES_MAX`); an empty `ranges` gives code with only the
    /// sentinels.
    pub fn build(ranges: &[ExecRange<'_>]) -> Code {
        let base = ranges.iter().map(|r| r.vaddr & !1).min().unwrap_or(0);
        let end = ranges
            .iter()
            .map(|r| r.vaddr.saturating_add(r.bytes.len() as u64).saturating_add(1) & !1)
            .max()
            .unwrap_or(base);
        let halfwords = usize::try_from(end.saturating_sub(base) / 2).unwrap_or(0);
        let fetch_fault = Op::bare(Kind::FetchFault, 1);
        let mut ops = vec![fetch_fault; halfwords.saturating_add(2)];
        if let Some(stop) = ops.last_mut() {
            *stop = Op::bare(Kind::Stop, 1);
        }
        for r in ranges {
            let halfword = |at: u64| -> Option<u16> {
                let off = usize::try_from(at.checked_sub(r.vaddr)?).ok()?;
                let lo = *r.bytes.get(off)?;
                let hi = *r.bytes.get(off.checked_add(1)?)?;
                Some(u16::from_le_bytes([lo, hi]))
            };
            let mut at = r.vaddr & !1;
            let stop = r.vaddr.saturating_add(r.bytes.len() as u64);
            while at < stop {
                let op = match halfword(at) {
                    None => fetch_fault,
                    Some(lo) if lo & 3 != 3 => match rvc::expand(lo) {
                        Some(x) => compressed(decode32(x, 1), lo),
                        None => Op { imm: i32::from(lo), ..Op::bare(Kind::Illegal, 1) },
                    },
                    Some(lo) => match halfword(at.saturating_add(2)) {
                        Some(hi) => decode32(u32::from(lo) | (u32::from(hi) << 16), 2),
                        None => fetch_fault,
                    },
                };
                let index = usize::try_from((at - base) / 2).unwrap_or(usize::MAX);
                if let Some(slot) = ops.get_mut(index) {
                    *slot = op;
                }
                at = at.saturating_add(2);
            }
        }
        let splits = link_blocks(&mut ops);
        Code { base, ops: ops.into_boxed_slice(), splits: splits.into_boxed_slice() }
    }

    /// Address of `ops[0]`.
    pub fn base(&self) -> u64 {
        self.base
    }

    /// The op table (see the module doc).
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// The ops displaced by [`Kind::Split`] markers.
    pub fn splits(&self) -> &[Op] {
        &self.splits
    }

    /// The exit sentinel's address: a call's return address. Executing it stops the call.
    pub fn exit_pc(&self) -> u64 {
        self.pc_of(self.ops.len().saturating_sub(1))
    }

    /// The index of `pc` in [`Code::ops`], if it is inside the table and even.
    pub fn index_of(&self, pc: u64) -> Option<usize> {
        let off = pc.checked_sub(self.base)?;
        if off & 1 != 0 {
            return None;
        }
        let index = usize::try_from(off / 2).ok()?;
        (index < self.ops.len()).then_some(index)
    }

    /// The address of op `index`.
    pub fn pc_of(&self, index: usize) -> u64 {
        self.base.wrapping_add((index as u64).wrapping_mul(2))
    }

    /// The op at `index` with a [`Kind::Split`] resolved to the op it displaced.
    pub fn resolved(&self, index: usize) -> Option<Op> {
        let op = *self.ops.get(index)?;
        if op.kind == Kind::Split {
            return self.splits.get(usize::try_from(op.imm).ok()?).copied();
        }
        Some(op)
    }
}

/// A decoded 2-byte op with its kind replaced by the compressed twin (see
/// [`Kind::compressed`]). Every expansion RVC defines falls through to a kind with a twin or
/// ends its block (`every_compressed_op_has_a_twin_or_ends_its_block` checks all 49 152
/// encodings); anything else would be illegal rather than stepped wrongly.
fn compressed(op: Op, raw: u16) -> Op {
    match op.kind.compressed() {
        Some(kind) => Op { kind, ..op },
        None if op.kind.ends_block() => op,
        None => Op { imm: i32::from(raw), ..Op::bare(Kind::Illegal, 1) },
    }
}

/// Fills in `blk` backwards, cuts over-long runs and fuses pairs (see the module doc); returns
/// the splits.
fn link_blocks(ops: &mut [Op]) -> Vec<Op> {
    let mut splits = Vec::new();
    for i in (0..ops.len()).rev() {
        let Some(op) = ops.get(i).copied() else { continue };
        let blk = if op.kind.ends_block() {
            1
        } else {
            match ops.get(i.saturating_add(usize::from(op.len))) {
                Some(next) if next.kind == Kind::Split => 1,
                Some(next) => next.blk.saturating_add(1),
                None => 1,
            }
        };
        let mut op = Op { blk, ..op };
        if blk >= BLOCK_INSNS_MAX {
            // This op starts a fresh chain: predecessors falling into it pay again.
            let index = i32::try_from(splits.len()).unwrap_or(i32::MAX);
            splits.push(op);
            op = Op { kind: Kind::Split, imm: index, blk: 0, ..op };
        }
        if let Some(slot) = ops.get_mut(i) {
            *slot = op;
        }
        crate::fuse::fuse_at(ops, i);
    }
    splits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(ws: &[u32]) -> Vec<u8> {
        ws.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    #[test]
    fn blocks_end_at_control_transfers() {
        // addi a0,a0,1; addi a0,a0,1; beq x0,x0,-8; addi a0,a0,1
        let bytes = words(&[0x0015_0513, 0x0015_0513, 0xfe00_0ce3, 0x0015_0513]);
        let code = Code::build(&[ExecRange { vaddr: 0x1000, bytes: &bytes }]);
        let blk: Vec<u16> = (0..8).map(|i| code.ops()[i].blk).collect();
        // index 0: addi (→2 → beq): 3; index 2: 2; index 4: beq 1; index 6: addi → FetchFault
        assert_eq!((blk[0], blk[2], blk[4], blk[6]), (3, 2, 1, 2));
        assert_eq!(code.ops()[8].kind, Kind::FetchFault);
        assert_eq!(code.ops()[9].kind, Kind::Stop);
        assert_eq!(code.exit_pc(), 0x1000 + 18);
        assert_eq!(code.index_of(0x1004), Some(2));
        assert_eq!(code.index_of(0x1003), None);
        assert_eq!(code.index_of(0xfff), None);
    }

    #[test]
    fn long_runs_are_split() {
        let n = usize::from(BLOCK_INSNS_MAX) * 2 + 10;
        let mut ws = vec![0x0015_0513u32; n]; // addi a0, a0, 1
        ws.push(0x0000_8067); // ret
        let bytes = words(&ws);
        let code = Code::build(&[ExecRange { vaddr: 0, bytes: &bytes }]);
        let mut i = 0;
        let mut charged = 0u32;
        // Walk sequentially from the start the way the interpreter charges fuel.
        loop {
            let op = code.resolved(i).unwrap();
            assert!(op.blk <= BLOCK_INSNS_MAX);
            charged += u32::from(op.blk);
            i += 2 * usize::from(op.blk);
            if code.ops()[i - 2].kind == Kind::Jalr || i >= 2 * (n + 1) {
                break;
            }
            assert_eq!(code.ops()[i].kind, Kind::Split, "a split at {i}");
        }
        assert_eq!(charged as usize, n + 1, "every instruction charged exactly once");
        assert!(!code.splits().is_empty());
    }

    #[test]
    fn straddling_and_compressed() {
        // c.li a0, 5 (0x4515), then the low half of a 32-bit instruction with no second half.
        let bytes = [0x15, 0x45, 0x13, 0x05];
        let code = Code::build(&[ExecRange { vaddr: 0x100, bytes: &bytes }]);
        assert_eq!(code.ops()[0].kind, Kind::CLi);
        assert_eq!(code.ops()[0].len, 1);
        assert_eq!(code.ops()[1].kind, Kind::FetchFault);
        // c.unimp (0x0000) is illegal.
        let code = Code::build(&[ExecRange { vaddr: 0x100, bytes: &[0, 0] }]);
        assert_eq!(code.ops()[0].kind, Kind::Illegal);
    }

    #[test]
    fn every_compressed_op_has_a_twin_or_ends_its_block() {
        for h in 0..=u16::MAX {
            if h & 3 == 3 {
                continue;
            }
            let code = Code::build(&[ExecRange { vaddr: 0, bytes: &h.to_le_bytes() }]);
            let op = code.ops()[0];
            assert_eq!(op.len, 1, "{h:#06x}");
            let Some(x) = rvc::expand(h) else {
                assert_eq!(op.kind, Kind::Illegal, "{h:#06x}");
                continue;
            };
            let base = decode32(x, 1).kind;
            match base.compressed() {
                Some(twin) => assert_eq!(op.kind, twin, "{h:#06x}"),
                None => {
                    assert!(base.ends_block(), "{h:#06x}: {base:?} has a twin or ends its block");
                    assert_eq!(op.kind, base, "{h:#06x}");
                }
            }
        }
    }
}
