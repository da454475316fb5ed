//! Which adjacent ops the interpreter runs as one (fused pairs), and how a pair is stored.
//!
//! [`FUSED`] lists the pairs: `(first, second, fused kind)`; [`FORWARD`] the forwarding twins
//! of the pure pairs, whose second half takes the first half's result without a round trip
//! through the register file; [`BRANCH_TAIL`] the pairs that also run the `bne` after them.
//! [`fuse_at`] rewrites a decoded op table slot by slot, at load
//! ([`crate::code::Code::build`] calls it while linking blocks); [`Op::pack`] stores both halves of a pure
//! pair in one op, read back by [`Op::first_half`] and [`Op::second_half`]. The interpreter's
//! fused arms are in [`crate::exec`]; the halves' semantics in [`crate::alu`]. Nothing here
//! runs guest code.

use crate::op::{Kind, Op};

/// Fused pairs: `(first, second, fused)`. Where an op of kind `first` is followed in its block
/// by one of kind `second`, [`crate::code::Code`] gives the first slot the `fused` kind and the
/// interpreter runs both in one dispatch (the second half is read from its own slot, which keeps
/// its own decode), any registers and immediates. Halves are pure register ops or 64-bit
/// loads and stores; a trap in the second half reports the second's pc and counts the first
/// as retired. Chosen from static pair counts in the glibc guests and the benchmark kernels'
/// loops: constants (`lui`/`auipc` + `addi`), moves, index arithmetic, counters,
/// zero-extension (`slli` + `srli`), register spills and reloads, address + access.
pub const FUSED: [(Kind, Kind, Kind); 32] = [
    (Kind::Xor, Kind::CAdd, Kind::XorCAdd),
    (Kind::CSlli, Kind::Srli, Kind::CSlliSrli),
    (Kind::CAddi, Kind::COr, Kind::CAddiCOr),
    (Kind::Addw, Kind::And, Kind::AddwAnd),
    (Kind::Slli, Kind::Srli, Kind::SlliSrli),
    (Kind::CAddi, Kind::CAddiw, Kind::CAddiCAddiw),
    (Kind::Mul, Kind::Addi, Kind::MulAddi),
    (Kind::CAdd, Kind::CAdd, Kind::CAddCAdd),
    (Kind::CAddi, Kind::CAdd, Kind::CAddiCAdd),
    (Kind::CMv, Kind::CMv, Kind::CMvCMv),
    (Kind::CLi, Kind::CLi, Kind::CLiCLi),
    (Kind::Addi, Kind::CAdd, Kind::AddiCAdd),
    (Kind::Addi, Kind::Addi, Kind::AddiAddi),
    (Kind::CMv, Kind::CLi, Kind::CMvCLi),
    (Kind::CLi, Kind::CMv, Kind::CLiCMv),
    (Kind::CSlli, Kind::CAdd, Kind::CSlliCAdd),
    (Kind::CMv, Kind::Addi, Kind::CMvAddi),
    (Kind::Auipc, Kind::Addi, Kind::AuipcAddi),
    (Kind::Li, Kind::Addi, Kind::LiAddi),
    (Kind::CLi, Kind::Addi, Kind::CLiAddi),
    (Kind::Li, Kind::Addiw, Kind::LiAddiw),
    (Kind::CLi, Kind::CAddiw, Kind::CLiCAddiw),
    (Kind::Slli, Kind::Add, Kind::SlliAdd),
    (Kind::Addi, Kind::CMv, Kind::AddiCMv),
    (Kind::CMv, Kind::CAddi, Kind::CMvCAddi),
    (Kind::CAdd, Kind::CAddi, Kind::CAddCAddi),
    (Kind::Ld, Kind::Ld, Kind::LdLd),
    (Kind::CLd, Kind::CLd, Kind::CLdCLd),
    (Kind::Sd, Kind::Sd, Kind::SdSd),
    (Kind::CSd, Kind::CSd, Kind::CSdCSd),
    (Kind::CAdd, Kind::CLd, Kind::CAddCLd),
    (Kind::CAdd, Kind::CSd, Kind::CAddCSd),
];

/// Forwarding twins of the pure fused kinds: `(fused, twin)`. A pair whose second half reads
/// the first half's destination as `rs1` (or as `rs2` of a commutative op, swapped at fusion)
/// gets the twin, whose arm hands the first half's result straight to the second instead of
/// reloading it from the register file: a guest dependency chain otherwise costs a host
/// store-to-load round trip per instruction.
pub const FORWARD: [(Kind, Kind); 26] = [
    (Kind::XorCAdd, Kind::XorCAddFwd),
    (Kind::CSlliSrli, Kind::CSlliSrliFwd),
    (Kind::CAddiCOr, Kind::CAddiCOrFwd),
    (Kind::AddwAnd, Kind::AddwAndFwd),
    (Kind::SlliSrli, Kind::SlliSrliFwd),
    (Kind::CAddiCAddiw, Kind::CAddiCAddiwFwd),
    (Kind::MulAddi, Kind::MulAddiFwd),
    (Kind::CAddCAdd, Kind::CAddCAddFwd),
    (Kind::CAddiCAdd, Kind::CAddiCAddFwd),
    (Kind::CMvCMv, Kind::CMvCMvFwd),
    (Kind::CLiCLi, Kind::CLiCLiFwd),
    (Kind::AddiCAdd, Kind::AddiCAddFwd),
    (Kind::AddiAddi, Kind::AddiAddiFwd),
    (Kind::CMvCLi, Kind::CMvCLiFwd),
    (Kind::CLiCMv, Kind::CLiCMvFwd),
    (Kind::CSlliCAdd, Kind::CSlliCAddFwd),
    (Kind::CMvAddi, Kind::CMvAddiFwd),
    (Kind::AuipcAddi, Kind::AuipcAddiFwd),
    (Kind::LiAddi, Kind::LiAddiFwd),
    (Kind::CLiAddi, Kind::CLiAddiFwd),
    (Kind::LiAddiw, Kind::LiAddiwFwd),
    (Kind::CLiCAddiw, Kind::CLiCAddiwFwd),
    (Kind::SlliAdd, Kind::SlliAddFwd),
    (Kind::AddiCMv, Kind::AddiCMvFwd),
    (Kind::CMvCAddi, Kind::CMvCAddiFwd),
    (Kind::CAddCAddi, Kind::CAddCAddiFwd),
];

/// Branch tails: `(pair, tail)`. A packed pure pair of kind `pair` followed in its block by a
/// `bne` (which then ends the block) gets the kind `tail`, whose arm runs the pair and the
/// branch in one dispatch, reading the branch from its own slot (which keeps its own decode,
/// so a jump to it, or to the pair's second half, runs the rest alone). The pairs are the
/// ones gcc puts right before a loop-closing `bne`: the counter step and one more op
/// scheduled between it and the branch (`count`: `c.addi`, `c.or`; `fib`: `c.addi`,
/// `c.add`), or the last two of a sum (`muldiv`: `c.add`, `c.add`). Nothing in the group can
/// trap; a taken branch to no code traps at the next block entry, as after a lone `bne`.
pub const BRANCH_TAIL: [(Kind, Kind); 6] = [
    (Kind::CAddiCOr, Kind::CAddiCOrBne),
    (Kind::CAddiCOrFwd, Kind::CAddiCOrFwdBne),
    (Kind::CAddCAdd, Kind::CAddCAddBne),
    (Kind::CAddCAddFwd, Kind::CAddCAddFwdBne),
    (Kind::CAddiCAdd, Kind::CAddiCAddBne),
    (Kind::CAddiCAddFwd, Kind::CAddiCAddFwdBne),
];

impl Kind {
    /// Whether a fused pure pair whose first half has this kind is packed (see
    /// [`Op::pack`]): every first half but the 32-bit constants (`lui`, `c.lui`/`c.li`,
    /// `auipc`), whose immediates need all of `imm`.
    pub const fn packs(self) -> bool {
        !matches!(self, Kind::Li | Kind::CLi | Kind::Auipc)
    }

    /// Whether this is a load or a store (integer or FP, any length).
    pub const fn accesses_memory(self) -> bool {
        matches!(
            self,
            Kind::Lb
                | Kind::Lh
                | Kind::Lw
                | Kind::Ld
                | Kind::Lbu
                | Kind::Lhu
                | Kind::Lwu
                | Kind::Sb
                | Kind::Sh
                | Kind::Sw
                | Kind::Sd
                | Kind::Flw
                | Kind::Fld
                | Kind::Fsw
                | Kind::Fsd
                | Kind::CLw
                | Kind::CLd
                | Kind::CSw
                | Kind::CSd
                | Kind::CFld
                | Kind::CFsd
        )
    }

    /// The forwarding twin of a pure fused kind (see [`FORWARD`]).
    pub fn forwarding(self) -> Option<Kind> {
        TWIN.get(usize::from(self as u8)).copied().flatten()
    }

    /// Whether a register-register op of this kind gives the same result with `rs1` and
    /// `rs2` swapped.
    pub const fn commutative(self) -> bool {
        matches!(
            self,
            Kind::Add
                | Kind::Xor
                | Kind::Or
                | Kind::And
                | Kind::Addw
                | Kind::Mul
                | Kind::Mulh
                | Kind::Mulhu
                | Kind::Mulw
                | Kind::CAdd
                | Kind::CXor
                | Kind::COr
                | Kind::CAnd
                | Kind::CAddw
        )
    }

    /// Whether a pure op of this kind reads `rs1` (all but the constants).
    pub const fn reads_rs1(self) -> bool {
        !matches!(self, Kind::Li | Kind::CLi | Kind::Auipc | Kind::Nop | Kind::CNop)
    }

    /// Whether a pure op of this kind reads `rs2` (register-register ops); the others read
    /// `imm` instead, or neither.
    pub const fn reads_rs2(self) -> bool {
        matches!(
            self,
            Kind::Add
                | Kind::Sub
                | Kind::Sll
                | Kind::Slt
                | Kind::Sltu
                | Kind::Xor
                | Kind::Srl
                | Kind::Sra
                | Kind::Or
                | Kind::And
                | Kind::Addw
                | Kind::Subw
                | Kind::Sllw
                | Kind::Srlw
                | Kind::Sraw
                | Kind::Mul
                | Kind::Mulh
                | Kind::Mulhsu
                | Kind::Mulhu
                | Kind::Div
                | Kind::Divu
                | Kind::Rem
                | Kind::Remu
                | Kind::Mulw
                | Kind::Divw
                | Kind::Divuw
                | Kind::Remw
                | Kind::Remuw
                | Kind::CAdd
                | Kind::CSub
                | Kind::CXor
                | Kind::COr
                | Kind::CAnd
                | Kind::CAddw
                | Kind::CSubw
        )
    }

    /// The fused kind for an op of this kind followed by one of kind `second` (see [`FUSED`]).
    pub fn fuse(self, second: Kind) -> Option<Kind> {
        PAIR.get(usize::from(self as u8))?.get(usize::from(second as u8)).copied().flatten()
    }
}

// Lookup tables built at compile time from `FUSED` and `FORWARD`, indexed by `Kind as u8`, so
// the fusion pass costs O(1) per halfword of code (a linear search of the lists made loading a
// 420 KB glibc ELF about 2 ms slower).

/// `PAIR[first][second]`: the fused kind of a pair.
#[expect(clippy::indexing_slicing, reason = "Kind is repr(u8): every index is below 256")]
static PAIR: [[Option<Kind>; 256]; 256] = {
    let mut t = [[None; 256]; 256];
    let mut i = 0;
    while i < FUSED.len() {
        let (a, b, f) = FUSED[i];
        t[a as usize][b as usize] = Some(f);
        i += 1;
    }
    t
};

/// Gives each forwarding twin its fused kind's entry, then each branch tail its pair's entry
/// (a tail's pair may be a twin, hence the order): what a table says of a fused kind holds for
/// the kinds made from it.
#[expect(clippy::indexing_slicing, reason = "Kind is repr(u8): every index is below 256")]
const fn inherit<T: Copy>(mut t: [T; 256]) -> [T; 256] {
    let mut i = 0;
    while i < FORWARD.len() {
        let (f, twin) = FORWARD[i];
        t[twin as usize] = t[f as usize];
        i += 1;
    }
    let mut i = 0;
    while i < BRANCH_TAIL.len() {
        let (pair, tail) = BRANCH_TAIL[i];
        t[tail as usize] = t[pair as usize];
        i += 1;
    }
    t
}

/// `PACKED[kind]`: whether a slot of this kind holds a packed pair ([`Op::pack`]).
#[expect(clippy::indexing_slicing, reason = "Kind is repr(u8): every index is below 256")]
static PACKED: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < FUSED.len() {
        let (a, b, f) = FUSED[i];
        t[f as usize] = a.packs() && !a.accesses_memory() && !b.accesses_memory();
        i += 1;
    }
    inherit(t)
};

/// `TWIN[fused]`: its forwarding twin.
#[expect(clippy::indexing_slicing, reason = "Kind is repr(u8): every index is below 256")]
static TWIN: [Option<Kind>; 256] = {
    let mut t = [None; 256];
    let mut i = 0;
    while i < FORWARD.len() {
        let (f, twin) = FORWARD[i];
        t[f as usize] = Some(twin);
        i += 1;
    }
    t
};

/// `FIRST[fused or twin]`: the kind of its first half as decoded.
#[expect(clippy::indexing_slicing, reason = "Kind is repr(u8): every index is below 256")]
static FIRST: [Option<Kind>; 256] = {
    let mut t = [None; 256];
    let mut i = 0;
    while i < FUSED.len() {
        let (a, _, f) = FUSED[i];
        t[f as usize] = Some(a);
        i += 1;
    }
    inherit(t)
};

// A packed fused op (see `Op::pack`) keeps both halves in one op, so running it reads one op:
//
//   rd, rs1, rs2      first half's registers
//   imm bits 0..16    first half's immediate (i16)
//   rs3, len          second half's rd and rs1
//   imm bits 16..32   second half's immediate (i16), or its rs2
impl Op {
    /// The packed form of the fused pure pair `first`, `second` with fused kind `kind`, if
    /// their immediates fit in 16 bits: both halves in one op (the layout is in a comment
    /// above this impl), read back by [`Op::first_half`] and [`Op::second_half`]. `len`
    /// then holds a register, not a length (nothing reads the length of a fused op).
    pub fn pack(first: Op, second: Op, kind: Kind) -> Option<Op> {
        let lo = if first.kind.reads_rs2() { 0 } else { i16::try_from(first.imm).ok()? };
        let hi = if second.kind.reads_rs2() {
            i16::from(second.rs2)
        } else {
            i16::try_from(second.imm).ok()?
        };
        let imm = i32::from(lo as u16) | (i32::from(hi) << 16);
        Some(Op { kind, imm, rs3: second.rd, len: second.rs1, ..first })
    }

    /// The first half of a packed fused op.
    #[inline(always)]
    pub fn first_half(&self) -> Op {
        Op { imm: i32::from(self.imm as i16), ..*self }
    }

    /// The second half of a packed fused op.
    #[inline(always)]
    pub fn second_half(&self) -> Op {
        let hi = self.imm >> 16;
        Op { rd: self.rs3, rs1: self.len, rs2: hi as u8, imm: hi, ..*self }
    }
}

/// Fuses slot `i` with its successor if they form a pair listed in [`FUSED`]. Called on every
/// slot from the last to the first ([`crate::code::Code::build`] does it while linking blocks,
/// after slot `i`'s `blk` is final), so the successor is already in its final form: possibly
/// fused itself, and then its decoded kind is recovered (`FIRST`), and its fields too when
/// it is packed.
///
/// A pure pair is packed ([`Op::pack`]: both halves in slot `i`, nothing read from the second
/// slot at run time) when its first half allows it; other pairs change only `kind` and read
/// their second half's fields from its own slot at run time, so they are not formed over a
/// packed successor (whose fields are no longer its own). A slot can thus be both the second
/// half of one pair and the first of the next, and a jump to a second half runs it alone (or as
/// the first half of its own pair). The second must be in the same block (a `Split` never
/// fuses), so both halves are already counted in slot `i`'s `blk`: fuel and `instret` are
/// unchanged; a trap in the second half is taken at the second's own slot (its `blk` is the
/// rest of the block).
pub fn fuse_at(ops: &mut [Op], i: usize) {
    // Most slots fuse with nothing (every halfword is decoded, the middles of 4-byte
    // instructions too): one table lookup and one branch decide, before anything else.
    let Some(&first) = ops.get(i) else { return };
    let j = i.saturating_add(usize::from(first.len));
    let Some(&next) = ops.get(j) else { return };
    let Some(kind) = first.kind.fuse(unfused(next.kind)) else { return };
    let next_packed = PACKED.get(usize::from(next.kind as u8)).copied().unwrap_or(false);
    let next = if next_packed { next.first_half() } else { next };
    let next = Op { kind: unfused(next.kind), ..next };
    if usize::from(first.len) != first.kind.halfwords() {
        return;
    }
    let pure_pair = !first.kind.accesses_memory() && !next.kind.accesses_memory();
    let fused = if pure_pair && first.kind.packs() {
        // The packed copy of a commutative second half may read the first's result through
        // `rs1` rather than `rs2`.
        let swap = next.kind.commutative() && next.rs2 == first.rd && next.rs1 != first.rd;
        let next = if swap { Op { rs1: next.rs2, rs2: next.rs1, ..next } } else { next };
        match Op::pack(first, next, forwarded(kind, first, next)) {
            Some(packed) => packed,
            None => return,
        }
    } else if next_packed {
        return;
    } else if pure_pair {
        Op { kind: forwarded(kind, first, next), ..first }
    } else {
        Op { kind, ..first }
    };
    let fused = branch_tail(ops, j.saturating_add(next.kind.halfwords()), fused);
    if let Some(slot) = ops.get_mut(i) {
        *slot = fused;
    }
}

/// `fused` with its branch-tail kind ([`BRANCH_TAIL`]) if the op at `k` (right after the pair)
/// is a `bne`.
fn branch_tail(ops: &[Op], k: usize, fused: Op) -> Op {
    let Some(&(_, tail)) = BRANCH_TAIL.iter().find(|(pair, _)| *pair == fused.kind) else {
        return fused;
    };
    match ops.get(k) {
        Some(br) if br.kind == Kind::Bne => Op { kind: tail, ..fused },
        _ => fused,
    }
}

/// `kind`'s forwarding twin if the second half reads the first half's result as `rs1`.
fn forwarded(kind: Kind, first: Op, second: Op) -> Kind {
    let reads = second.kind.reads_rs1() && second.rs1 == first.rd;
    match kind.forwarding() {
        Some(twin) if reads => twin,
        _ => kind,
    }
}

/// The decoded kind of a slot that may hold a fused kind.
fn unfused(kind: Kind) -> Kind {
    FIRST.get(usize::from(kind as u8)).copied().flatten().unwrap_or(kind)
}
