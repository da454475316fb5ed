//! The pre-decoded instruction format the interpreter executes.
//!
//! Every halfword of executable code gets one [`Op`] (12 bytes): a dense [`Kind`] byte, register
//! indices already unpacked, one immediate already sign-extended (or a pre-computed branch
//! offset in halfwords), the instruction length, and `blk`, the number of instructions from
//! here to the end of the straight-line block (the fuel charged when a block is entered here).
//!
//! A 2-byte (RVC) op that does not end its block has a `C…` kind of its own
//! ([`Kind::compressed`]), so the interpreter knows the step from the kind alone.
//!
//! A fused kind ([`crate::fuse::FUSED`]) runs two adjacent ops in one dispatch; its step is the sum of its
//! halves' lengths, again a constant of the kind. Pure pairs are packed into one op
//! ([`Op::pack`]), and those whose second half reads the first's result have a forwarding
//! twin ([`crate::fuse::FORWARD`]).
//!
//! Writes to `x0` never reach the register file: pure ALU ops with `rd = x0` decode to
//! [`Kind::Nop`], and ops with side effects (loads, jumps, CSR reads, AMOs) write the sink
//! register [`SINK`] instead, so no handler checks `rd`.
//!
//! Floating-point ops keep the `fpu` module's own decoded form: [`Kind::Fp`] stores the
//! [`crate::fpu::insn::FpOp`] index in the low byte of `imm` and the `rm` field in the next, and
//! the four FP loads/stores are ordinary memory kinds whose `rd`/`rs2` name an f-register.
//!
//! It does not execute anything ([`crate::exec`]) or decode bits ([`crate::decode`]).

/// Register index that absorbs writes whose architectural destination is `x0`.
pub const SINK: u8 = 32;

/// What an [`Op`] does. `#[repr(u8)]` so `match` compiles to one jump table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
#[expect(missing_docs, reason = "variants are RISC-V mnemonics, documented by the ISA spec")]
pub enum Kind {
    /// Illegal or reserved encoding; `imm` holds the raw instruction bits.
    Illegal,
    /// No executable code at this address (gap, segment end, odd-halfword padding).
    FetchFault,
    /// Host exit sentinel: the guest returned to the call's exit address.
    Stop,
    /// A straight-line block was cut here at `BLOCK_INSNS_MAX`: the real op is
    /// `Code::splits[imm]`; arriving here sequentially re-enters the block path (fuel).
    Split,
    /// No effect (includes every pure op whose destination is `x0`, `fence`, `fence.i`).
    Nop,
    /// `rd = imm` (LUI, C.LI, ADDI rd, x0, imm).
    Li,
    /// `rd = pc + imm`.
    Auipc,
    Addi,
    Slti,
    Sltiu,
    Xori,
    Ori,
    Andi,
    Slli,
    Srli,
    Srai,
    Addiw,
    Slliw,
    Srliw,
    Sraiw,
    /// `rd = rs1` (ADDI rd, rs1, 0 / C.MV).
    Mv,
    Add,
    Sub,
    Sll,
    Slt,
    Sltu,
    Xor,
    Srl,
    Sra,
    Or,
    And,
    Addw,
    Subw,
    Sllw,
    Srlw,
    Sraw,
    Mul,
    Mulh,
    Mulhsu,
    Mulhu,
    Div,
    Divu,
    Rem,
    Remu,
    Mulw,
    Divw,
    Divuw,
    Remw,
    Remuw,
    Lb,
    Lh,
    Lw,
    Ld,
    Lbu,
    Lhu,
    Lwu,
    Sb,
    Sh,
    Sw,
    Sd,
    /// Branches: `imm` is the target offset in halfwords.
    Beq,
    Bne,
    Blt,
    Bge,
    Bltu,
    Bgeu,
    /// `rd = pc + len; pc += imm` (imm in halfwords).
    Jal,
    /// `pc = (rs1 + imm) & !1; rd = old pc + len`.
    Jalr,
    Ecall,
    Ebreak,
    /// CSR ops: `imm` is the CSR number; the `*i` forms keep the 5-bit immediate in `rs1`.
    Csrrw,
    Csrrs,
    Csrrc,
    Csrrwi,
    Csrrsi,
    Csrrci,
    LrW,
    ScW,
    AmoswapW,
    AmoaddW,
    AmoxorW,
    AmoandW,
    AmoorW,
    AmominW,
    AmomaxW,
    AmominuW,
    AmomaxuW,
    LrD,
    ScD,
    AmoswapD,
    AmoaddD,
    AmoxorD,
    AmoandD,
    AmoorD,
    AmominD,
    AmomaxD,
    AmominuD,
    AmomaxuD,
    /// A register-to-register F/D instruction: `imm` = `FpOp` index | `rm` << 8.
    Fp,
    /// `f[rd] = box(mem32[x[rs1] + imm])`.
    Flw,
    /// `f[rd] = mem64[x[rs1] + imm]`.
    Fld,
    /// `mem32[x[rs1] + imm] = f[rs2]` (raw low half).
    Fsw,
    /// `mem64[x[rs1] + imm] = f[rs2]`.
    Fsd,
    /// Compressed (2-byte) `Nop`: same semantics; the interpreter steps one halfword.
    CNop,
    /// Compressed (2-byte) `Li`: same semantics; the interpreter steps one halfword.
    CLi,
    /// Compressed (2-byte) `Mv`: same semantics; the interpreter steps one halfword.
    CMv,
    /// Compressed (2-byte) `Addi`: same semantics; the interpreter steps one halfword.
    CAddi,
    /// Compressed (2-byte) `Addiw`: same semantics; the interpreter steps one halfword.
    CAddiw,
    /// Compressed (2-byte) `Slli`: same semantics; the interpreter steps one halfword.
    CSlli,
    /// Compressed (2-byte) `Srli`: same semantics; the interpreter steps one halfword.
    CSrli,
    /// Compressed (2-byte) `Srai`: same semantics; the interpreter steps one halfword.
    CSrai,
    /// Compressed (2-byte) `Andi`: same semantics; the interpreter steps one halfword.
    CAndi,
    /// Compressed (2-byte) `Add`: same semantics; the interpreter steps one halfword.
    CAdd,
    /// Compressed (2-byte) `Sub`: same semantics; the interpreter steps one halfword.
    CSub,
    /// Compressed (2-byte) `Xor`: same semantics; the interpreter steps one halfword.
    CXor,
    /// Compressed (2-byte) `Or`: same semantics; the interpreter steps one halfword.
    COr,
    /// Compressed (2-byte) `And`: same semantics; the interpreter steps one halfword.
    CAnd,
    /// Compressed (2-byte) `Addw`: same semantics; the interpreter steps one halfword.
    CAddw,
    /// Compressed (2-byte) `Subw`: same semantics; the interpreter steps one halfword.
    CSubw,
    /// Compressed (2-byte) `Lw`: same semantics; the interpreter steps one halfword.
    CLw,
    /// Compressed (2-byte) `Ld`: same semantics; the interpreter steps one halfword.
    CLd,
    /// Compressed (2-byte) `Sw`: same semantics; the interpreter steps one halfword.
    CSw,
    /// Compressed (2-byte) `Sd`: same semantics; the interpreter steps one halfword.
    CSd,
    /// Compressed (2-byte) `Fld`: same semantics; the interpreter steps one halfword.
    CFld,
    /// Compressed (2-byte) `Fsd`: same semantics; the interpreter steps one halfword.
    CFsd,
    /// Compressed (2-byte) `Beq` (`c.beqz`): not taken, the interpreter steps one halfword.
    CBeq,
    /// Compressed (2-byte) `Bne` (`c.bnez`): not taken, the interpreter steps one halfword.
    CBne,
    /// Fused `Ld` then `Ld` (see [`crate::fuse::FUSED`]).
    LdLd,
    /// Fused `CLd` then `CLd` (see [`crate::fuse::FUSED`]).
    CLdCLd,
    /// Fused `Sd` then `Sd` (see [`crate::fuse::FUSED`]).
    SdSd,
    /// Fused `CSd` then `CSd` (see [`crate::fuse::FUSED`]).
    CSdCSd,
    /// Fused `CAdd` then `CLd` (see [`crate::fuse::FUSED`]).
    CAddCLd,
    /// Fused `CAdd` then `CSd` (see [`crate::fuse::FUSED`]).
    CAddCSd,
    /// `XorCAdd` whose second half reads the first half's result as `rs1` ([`crate::fuse::FORWARD`]).
    XorCAddFwd,
    /// `CSlliSrli` whose second half reads the first half's result as `rs1` ([`crate::fuse::FORWARD`]).
    CSlliSrliFwd,
    /// `CAddiCOr` whose second half reads the first half's result as `rs1` ([`crate::fuse::FORWARD`]).
    CAddiCOrFwd,
    /// `AddwAnd` whose second half reads the first half's result as `rs1` ([`crate::fuse::FORWARD`]).
    AddwAndFwd,
    /// `SlliSrli` whose second half reads the first half's result as `rs1` ([`crate::fuse::FORWARD`]).
    SlliSrliFwd,
    /// `CAddiCAddiw` whose second half reads the first half's result as `rs1` ([`crate::fuse::FORWARD`]).
    CAddiCAddiwFwd,
    /// `MulAddi` whose second half reads the first half's result as `rs1` ([`crate::fuse::FORWARD`]).
    MulAddiFwd,
    /// `CAddCAdd` whose second half reads the first half's result as `rs1` ([`crate::fuse::FORWARD`]).
    CAddCAddFwd,
    /// `CAddiCAdd` whose second half reads the first half's result as `rs1` ([`crate::fuse::FORWARD`]).
    CAddiCAddFwd,
    /// `CMvCMv` whose second half reads the first half's result as `rs1` ([`crate::fuse::FORWARD`]).
    CMvCMvFwd,
    /// `CLiCLi` whose second half reads the first half's result as `rs1` ([`crate::fuse::FORWARD`]).
    CLiCLiFwd,
    /// `AddiCAdd` whose second half reads the first half's result as `rs1` ([`crate::fuse::FORWARD`]).
    AddiCAddFwd,
    /// `AddiAddi` whose second half reads the first half's result as `rs1` ([`crate::fuse::FORWARD`]).
    AddiAddiFwd,
    /// `CMvCLi` whose second half reads the first half's result as `rs1` ([`crate::fuse::FORWARD`]).
    CMvCLiFwd,
    /// `CLiCMv` whose second half reads the first half's result as `rs1` ([`crate::fuse::FORWARD`]).
    CLiCMvFwd,
    /// `CSlliCAdd` whose second half reads the first half's result as `rs1` ([`crate::fuse::FORWARD`]).
    CSlliCAddFwd,
    /// `CMvAddi` whose second half reads the first half's result as `rs1` ([`crate::fuse::FORWARD`]).
    CMvAddiFwd,
    /// `AuipcAddi` whose second half reads the first half's result as `rs1` ([`crate::fuse::FORWARD`]).
    AuipcAddiFwd,
    /// `LiAddi` whose second half reads the first half's result as `rs1` ([`crate::fuse::FORWARD`]).
    LiAddiFwd,
    /// `CLiAddi` whose second half reads the first half's result as `rs1` ([`crate::fuse::FORWARD`]).
    CLiAddiFwd,
    /// `LiAddiw` whose second half reads the first half's result as `rs1` ([`crate::fuse::FORWARD`]).
    LiAddiwFwd,
    /// `CLiCAddiw` whose second half reads the first half's result as `rs1` ([`crate::fuse::FORWARD`]).
    CLiCAddiwFwd,
    /// `SlliAdd` whose second half reads the first half's result as `rs1` ([`crate::fuse::FORWARD`]).
    SlliAddFwd,
    /// `AddiCMv` whose second half reads the first half's result as `rs1` ([`crate::fuse::FORWARD`]).
    AddiCMvFwd,
    /// `CMvCAddi` whose second half reads the first half's result as `rs1` ([`crate::fuse::FORWARD`]).
    CMvCAddiFwd,
    /// `CAddCAddi` whose second half reads the first half's result as `rs1` ([`crate::fuse::FORWARD`]).
    CAddCAddiFwd,
    /// Fused `Xor` then `CAdd` (see [`crate::fuse::FUSED`]).
    XorCAdd,
    /// Fused `CSlli` then `Srli` (see [`crate::fuse::FUSED`]).
    CSlliSrli,
    /// Fused `CAddi` then `COr` (see [`crate::fuse::FUSED`]).
    CAddiCOr,
    /// Fused `Addw` then `And` (see [`crate::fuse::FUSED`]).
    AddwAnd,
    /// Fused `Slli` then `Srli` (see [`crate::fuse::FUSED`]).
    SlliSrli,
    /// Fused `CAddi` then `CAddiw` (see [`crate::fuse::FUSED`]).
    CAddiCAddiw,
    /// Fused `Mul` then `Addi` (see [`crate::fuse::FUSED`]).
    MulAddi,
    /// Fused `CAdd` then `CAdd` (see [`crate::fuse::FUSED`]).
    CAddCAdd,
    /// Fused `CAddi` then `CAdd` (see [`crate::fuse::FUSED`]).
    CAddiCAdd,
    /// Fused `CMv` then `CMv` (see [`crate::fuse::FUSED`]).
    CMvCMv,
    /// Fused `CLi` then `CLi` (see [`crate::fuse::FUSED`]).
    CLiCLi,
    /// Fused `Addi` then `CAdd` (see [`crate::fuse::FUSED`]).
    AddiCAdd,
    /// Fused `Addi` then `Addi` (see [`crate::fuse::FUSED`]).
    AddiAddi,
    /// Fused `CMv` then `CLi` (see [`crate::fuse::FUSED`]).
    CMvCLi,
    /// Fused `CLi` then `CMv` (see [`crate::fuse::FUSED`]).
    CLiCMv,
    /// Fused `CSlli` then `CAdd` (see [`crate::fuse::FUSED`]).
    CSlliCAdd,
    /// Fused `CMv` then `Addi` (see [`crate::fuse::FUSED`]).
    CMvAddi,
    /// Fused `Auipc` then `Addi` (see [`crate::fuse::FUSED`]).
    AuipcAddi,
    /// Fused `Li` then `Addi` (see [`crate::fuse::FUSED`]).
    LiAddi,
    /// Fused `CLi` then `Addi` (see [`crate::fuse::FUSED`]).
    CLiAddi,
    /// Fused `Li` then `Addiw` (see [`crate::fuse::FUSED`]).
    LiAddiw,
    /// Fused `CLi` then `CAddiw` (see [`crate::fuse::FUSED`]).
    CLiCAddiw,
    /// Fused `Slli` then `Add` (see [`crate::fuse::FUSED`]).
    SlliAdd,
    /// Fused `Addi` then `CMv` (see [`crate::fuse::FUSED`]).
    AddiCMv,
    /// Fused `CMv` then `CAddi` (see [`crate::fuse::FUSED`]).
    CMvCAddi,
    /// Fused `CAdd` then `CAddi` (see [`crate::fuse::FUSED`]).
    CAddCAddi,
    /// `CAddiCOr` followed by `Bne`, all three in one dispatch ([`crate::fuse::BRANCH_TAIL`]).
    CAddiCOrBne,
    /// `CAddiCOrFwd` followed by `Bne`, all three in one dispatch ([`crate::fuse::BRANCH_TAIL`]).
    CAddiCOrFwdBne,
    /// `CAddCAdd` followed by `Bne`, all three in one dispatch ([`crate::fuse::BRANCH_TAIL`]).
    CAddCAddBne,
    /// `CAddCAddFwd` followed by `Bne`, all three in one dispatch ([`crate::fuse::BRANCH_TAIL`]).
    CAddCAddFwdBne,
    /// `CAddiCAdd` followed by `Bne`, all three in one dispatch ([`crate::fuse::BRANCH_TAIL`]).
    CAddiCAddBne,
    /// `CAddiCAddFwd` followed by `Bne`, all three in one dispatch ([`crate::fuse::BRANCH_TAIL`]).
    CAddiCAddFwdBne,
}

impl Kind {
    /// The compressed twin of a kind that does not end its block, or of `beq`/`bne` (`None`
    /// for the others and for kinds RVC cannot produce). [`crate::code::Code`] gives every 2-byte op that does
    /// not end its block its twin, so the interpreter's step after an op is a constant of its
    /// kind (one halfword for a twin, two for every other kind that falls through) and never
    /// waits for `len` to load: that load chain was the interpreter loop's critical path. The
    /// branch twins do the same for a branch not taken.
    pub const fn compressed(self) -> Option<Kind> {
        match self {
            Kind::Nop => Some(Kind::CNop),
            Kind::Li => Some(Kind::CLi),
            Kind::Mv => Some(Kind::CMv),
            Kind::Addi => Some(Kind::CAddi),
            Kind::Addiw => Some(Kind::CAddiw),
            Kind::Slli => Some(Kind::CSlli),
            Kind::Srli => Some(Kind::CSrli),
            Kind::Srai => Some(Kind::CSrai),
            Kind::Andi => Some(Kind::CAndi),
            Kind::Add => Some(Kind::CAdd),
            Kind::Sub => Some(Kind::CSub),
            Kind::Xor => Some(Kind::CXor),
            Kind::Or => Some(Kind::COr),
            Kind::And => Some(Kind::CAnd),
            Kind::Addw => Some(Kind::CAddw),
            Kind::Subw => Some(Kind::CSubw),
            Kind::Lw => Some(Kind::CLw),
            Kind::Ld => Some(Kind::CLd),
            Kind::Sw => Some(Kind::CSw),
            Kind::Sd => Some(Kind::CSd),
            Kind::Fld => Some(Kind::CFld),
            Kind::Fsd => Some(Kind::CFsd),
            Kind::Beq => Some(Kind::CBeq),
            Kind::Bne => Some(Kind::CBne),
            _ => None,
        }
    }

    /// Length in halfwords of an op of this kind that does not end its block: 1 for the
    /// compressed twins, 2 for every other kind (see [`Kind::compressed`]).
    pub const fn halfwords(self) -> usize {
        match self {
            Kind::CNop
            | Kind::CLi
            | Kind::CMv
            | Kind::CAddi
            | Kind::CAddiw
            | Kind::CSlli
            | Kind::CSrli
            | Kind::CSrai
            | Kind::CAndi
            | Kind::CAdd
            | Kind::CSub
            | Kind::CXor
            | Kind::COr
            | Kind::CAnd
            | Kind::CAddw
            | Kind::CSubw
            | Kind::CLw
            | Kind::CLd
            | Kind::CSw
            | Kind::CSd
            | Kind::CFld
            | Kind::CFsd
            | Kind::CBeq
            | Kind::CBne => 1,
            _ => 2,
        }
    }

    /// Whether this op always ends a straight-line block (control transfer, system, trap).
    pub const fn ends_block(self) -> bool {
        matches!(
            self,
            Kind::Illegal
                | Kind::FetchFault
                | Kind::Stop
                | Kind::Beq
                | Kind::Bne
                | Kind::CBeq
                | Kind::CBne
                | Kind::Blt
                | Kind::Bge
                | Kind::Bltu
                | Kind::Bgeu
                | Kind::Jal
                | Kind::Jalr
                | Kind::Ecall
                | Kind::Ebreak
        )
    }
}

/// One pre-decoded instruction (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct Op {
    /// What it does.
    pub kind: Kind,
    /// Destination register (0..=31, or [`SINK`]).
    pub rd: u8,
    /// First source register (or CSR immediate).
    pub rs1: u8,
    /// Second source register.
    pub rs2: u8,
    /// Immediate, sign-extended; meaning depends on `kind`.
    pub imm: i32,
    /// Instructions from here to the end of the block, this one included (fuel per entry).
    pub blk: u16,
    /// Instruction length in halfwords (1 for RVC, 2 otherwise); in a packed fused op, the
    /// second half's `rs1` ([`Op::pack`]).
    pub len: u8,
    /// Third source register (fused multiply-add); in a packed fused op, the second half's
    /// `rd`.
    pub rs3: u8,
}

impl Op {
    /// An op with no operands.
    pub const fn bare(kind: Kind, len: u8) -> Op {
        Op { kind, rd: 0, rs1: 0, rs2: 0, imm: 0, blk: 1, len, rs3: 0 }
    }
}

const _: () = assert!(std::mem::size_of::<Op>() == 12);
