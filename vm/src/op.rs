//! The pre-decoded instruction format the interpreter executes.
//!
//! Every halfword of executable code gets one [`Op`] (12 bytes): a dense [`Kind`] byte, register
//! indices already unpacked, one immediate already sign-extended (or a pre-computed branch
//! offset in halfwords), the instruction length, and `blk`, the number of instructions from
//! here to the end of the straight-line block (the fuel charged when a block is entered here).
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
}

impl Kind {
    /// Whether this op always ends a straight-line block (control transfer, system, trap).
    pub const fn ends_block(self) -> bool {
        matches!(
            self,
            Kind::Illegal
                | Kind::FetchFault
                | Kind::Stop
                | Kind::Beq
                | Kind::Bne
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
    /// Instruction length in halfwords (1 for RVC, 2 otherwise).
    pub len: u8,
    /// Third source register (reserved for fused multiply-add).
    pub rs3: u8,
}

impl Op {
    /// An op with no operands.
    pub const fn bare(kind: Kind, len: u8) -> Op {
        Op { kind, rd: 0, rs1: 0, rs2: 0, imm: 0, blk: 1, len, rs3: 0 }
    }
}

const _: () = assert!(std::mem::size_of::<Op>() == 12);
