//! Decoding and executing the register-to-register F/D instructions: OP-FP (0x53) and the fused
//! multiply-adds (0x43, 0x47, 0x4b, 0x4f).
//!
//! [`decode`] turns an instruction word into an [`FpInsn`] (a dense [`FpOp`] plus register
//! indices and the `rm` field), or `None` for an illegal encoding (reserved `fmt`, reserved
//! static `rm`, non-zero fields the spec requires to be zero). [`execute`] runs one on an
//! [`FpState`] and the integer registers ([`IntRegs`]), accruing `fflags`; a dynamic `rm` with a
//! reserved `frm` is reported as [`IllegalRounding`], the interpreter's illegal-instruction
//! trap. The interpreter keeps its own pre-decoded form: it stores the [`FpInsn`] fields in its
//! op and calls [`execute`], so the FP semantics have one implementation.
//!
//! Not here: the FP loads and stores (FLW/FLD/FSW/FSD and their RVC forms), which are memory
//! operations of the interpreter (FLW NaN-boxes with [`super::box_s`], FSW stores the raw low
//! 32 bits), and the FP CSRs ([`FpState::csr_read`], [`FpState::csr_write`]).

use super::FpState;

/// The integer register file as [`execute`] sees it.
pub trait IntRegs {
    /// Reads `x[index]` (`x0` reads zero).
    fn x(&self, index: u8) -> u64;
    /// Writes `x[index]`; a write to `x0` is discarded.
    fn set_x(&mut self, index: u8, value: u64);
}

/// A dynamic rounding mode met a reserved `frm` (5..=7): illegal instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IllegalRounding;

/// Every register-to-register F/D operation, single (`S`) and double (`D`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
#[expect(missing_docs, reason = "variants are RISC-V mnemonics, documented by the ISA spec")]
pub enum FpOp {
    FaddS,
    FsubS,
    FmulS,
    FdivS,
    FsqrtS,
    FsgnjS,
    FsgnjnS,
    FsgnjxS,
    FminS,
    FmaxS,
    FeqS,
    FltS,
    FleS,
    FclassS,
    FmvXW,
    FmvWX,
    FcvtWS,
    FcvtWuS,
    FcvtLS,
    FcvtLuS,
    FcvtSW,
    FcvtSWu,
    FcvtSL,
    FcvtSLu,
    FmaddS,
    FmsubS,
    FnmsubS,
    FnmaddS,
    FaddD,
    FsubD,
    FmulD,
    FdivD,
    FsqrtD,
    FsgnjD,
    FsgnjnD,
    FsgnjxD,
    FminD,
    FmaxD,
    FeqD,
    FltD,
    FleD,
    FclassD,
    FmvXD,
    FmvDX,
    FcvtWD,
    FcvtWuD,
    FcvtLD,
    FcvtLuD,
    FcvtDW,
    FcvtDWu,
    FcvtDL,
    FcvtDLu,
    FmaddD,
    FmsubD,
    FnmsubD,
    FnmaddD,
    FcvtSD,
    FcvtDS,
}

impl FpOp {
    /// Every operation, in discriminant order: `FpOp::ALL[op as usize] == op`.
    pub const ALL: [FpOp; 58] = {
        use FpOp::*;
        [
            FaddS, FsubS, FmulS, FdivS, FsqrtS, FsgnjS, FsgnjnS, FsgnjxS, FminS, FmaxS, FeqS, FltS,
            FleS, FclassS, FmvXW, FmvWX, FcvtWS, FcvtWuS, FcvtLS, FcvtLuS, FcvtSW, FcvtSWu, FcvtSL,
            FcvtSLu, FmaddS, FmsubS, FnmsubS, FnmaddS, FaddD, FsubD, FmulD, FdivD, FsqrtD, FsgnjD,
            FsgnjnD, FsgnjxD, FminD, FmaxD, FeqD, FltD, FleD, FclassD, FmvXD, FmvDX, FcvtWD,
            FcvtWuD, FcvtLD, FcvtLuD, FcvtDW, FcvtDWu, FcvtDL, FcvtDLu, FmaddD, FmsubD, FnmsubD,
            FnmaddD, FcvtSD, FcvtDS,
        ]
    };

    /// The operation with discriminant `index` (for interpreters that pack it into a byte).
    pub fn from_index(index: u8) -> Option<FpOp> {
        Self::ALL.get(usize::from(index)).copied()
    }
}

/// Which FP load or store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FpMemOp {
    /// FLW: load 4 bytes, NaN-box them into `reg`.
    Flw,
    /// FLD: load 8 bytes into `reg`.
    Fld,
    /// FSW: store the low 4 bytes of `reg`, raw.
    Fsw,
    /// FSD: store the 8 bytes of `reg`.
    Fsd,
}

/// A decoded FP load or store: `reg` is rd for loads, rs2 for stores; the address is
/// `x[base] + offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FpMem {
    /// The operation.
    pub op: FpMemOp,
    /// The f-register loaded or stored.
    pub reg: u8,
    /// The base x-register.
    pub base: u8,
    /// The sign-extended 12-bit offset.
    pub offset: i32,
}

impl FpMemOp {
    /// The access width in bytes.
    pub fn bytes(self) -> u32 {
        match self {
            FpMemOp::Flw | FpMemOp::Fsw => 4,
            FpMemOp::Fld | FpMemOp::Fsd => 8,
        }
    }

    /// The f-register value a load of `raw` (the bytes read, little-endian, zero-extended)
    /// produces.
    pub fn loaded(self, raw: u64) -> u64 {
        match self {
            // The low 32 bits are the single, by the truncation.
            FpMemOp::Flw => super::box_s(raw as u32),
            _ => raw,
        }
    }

    /// The bytes (little-endian, in the low `bytes()` bytes) a store of register value `reg`
    /// writes.
    pub fn stored(self, reg: u64) -> u64 {
        match self {
            FpMemOp::Fsw => reg & 0xffff_ffff,
            _ => reg,
        }
    }
}

/// Decodes LOAD-FP (0x07) and STORE-FP (0x27) words of F and D; `None` otherwise.
pub fn decode_mem(x: u32) -> Option<FpMem> {
    let base = reg(x, 15);
    // The casts reinterpret the instruction word so the arithmetic shift sign-extends.
    let i_imm = (x as i32) >> 20;
    let s_imm = ((x as i32) >> 25 << 5) | field(x, 11, 7) as i32;
    match (field(x, 6, 0), field(x, 14, 12)) {
        (0x07, 2) => Some(FpMem { op: FpMemOp::Flw, reg: reg(x, 7), base, offset: i_imm }),
        (0x07, 3) => Some(FpMem { op: FpMemOp::Fld, reg: reg(x, 7), base, offset: i_imm }),
        (0x27, 2) => Some(FpMem { op: FpMemOp::Fsw, reg: reg(x, 20), base, offset: s_imm }),
        (0x27, 3) => Some(FpMem { op: FpMemOp::Fsd, reg: reg(x, 20), base, offset: s_imm }),
        _ => None,
    }
}

/// A decoded register-to-register F/D instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FpInsn {
    /// The operation.
    pub op: FpOp,
    /// Destination: an f-register, or an x-register for compares, FCLASS, FMV.X and FCVT to
    /// integer.
    pub rd: u8,
    /// First source: an f-register, or an x-register for FMV to float and FCVT from integer.
    pub rs1: u8,
    /// Second source f-register.
    pub rs2: u8,
    /// Third source f-register (fused multiply-add).
    pub rs3: u8,
    /// The `rm` field (0..=4 static, 7 dynamic) for operations that round; 0 otherwise.
    pub rm: u8,
}

fn field(x: u32, hi: u32, lo: u32) -> u32 {
    (x >> lo) & ((1 << (hi - lo + 1)) - 1)
}

fn reg(x: u32, lo: u32) -> u8 {
    // A 5-bit field always fits.
    field(x, lo + 4, lo) as u8
}

/// Decodes an OP-FP or fused multiply-add instruction word; `None` if it is illegal (or not one
/// of these opcodes).
pub fn decode(x: u32) -> Option<FpInsn> {
    use FpOp::*;
    let opcode = field(x, 6, 0);
    let (rd, rs1, rs2, rs3) = (reg(x, 7), reg(x, 15), reg(x, 20), reg(x, 27));
    let funct3 = field(x, 14, 12);
    let fmt = field(x, 26, 25);
    let double = match fmt {
        0 => false,
        1 => true,
        _ => return None,
    };
    let pick = |s: FpOp, d: FpOp| if double { d } else { s };
    // A static rm of 5 or 6 is reserved; 7 (DYN) is checked against frm when executed.
    let rounding = |op: FpOp| -> Option<FpInsn> {
        if funct3 == 5 || funct3 == 6 {
            return None;
        }
        Some(FpInsn { op, rd, rs1, rs2, rs3: 0, rm: funct3 as u8 })
    };
    let plain = |op: FpOp| Some(FpInsn { op, rd, rs1, rs2, rs3: 0, rm: 0 });
    match opcode {
        0x43 | 0x47 | 0x4b | 0x4f => {
            let op = match opcode {
                0x43 => pick(FmaddS, FmaddD),
                0x47 => pick(FmsubS, FmsubD),
                0x4b => pick(FnmsubS, FnmsubD),
                _ => pick(FnmaddS, FnmaddD),
            };
            rounding(op).map(|insn| FpInsn { rs3, ..insn })
        }
        0x53 => match (field(x, 31, 27), rs2, funct3) {
            (0x00, _, _) => rounding(pick(FaddS, FaddD)),
            (0x01, _, _) => rounding(pick(FsubS, FsubD)),
            (0x02, _, _) => rounding(pick(FmulS, FmulD)),
            (0x03, _, _) => rounding(pick(FdivS, FdivD)),
            (0x0b, 0, _) => rounding(pick(FsqrtS, FsqrtD)),
            (0x04, _, 0) => plain(pick(FsgnjS, FsgnjD)),
            (0x04, _, 1) => plain(pick(FsgnjnS, FsgnjnD)),
            (0x04, _, 2) => plain(pick(FsgnjxS, FsgnjxD)),
            (0x05, _, 0) => plain(pick(FminS, FminD)),
            (0x05, _, 1) => plain(pick(FmaxS, FmaxD)),
            (0x08, 1, _) if !double => rounding(FcvtSD),
            (0x08, 0, _) if double => rounding(FcvtDS),
            (0x14, _, 2) => plain(pick(FeqS, FeqD)),
            (0x14, _, 1) => plain(pick(FltS, FltD)),
            (0x14, _, 0) => plain(pick(FleS, FleD)),
            (0x18, 0, _) => rounding(pick(FcvtWS, FcvtWD)),
            (0x18, 1, _) => rounding(pick(FcvtWuS, FcvtWuD)),
            (0x18, 2, _) => rounding(pick(FcvtLS, FcvtLD)),
            (0x18, 3, _) => rounding(pick(FcvtLuS, FcvtLuD)),
            (0x1a, 0, _) => rounding(pick(FcvtSW, FcvtDW)),
            (0x1a, 1, _) => rounding(pick(FcvtSWu, FcvtDWu)),
            (0x1a, 2, _) => rounding(pick(FcvtSL, FcvtDL)),
            (0x1a, 3, _) => rounding(pick(FcvtSLu, FcvtDLu)),
            (0x1c, 0, 0) => plain(pick(FmvXW, FmvXD)),
            (0x1c, 0, 1) => plain(pick(FclassS, FclassD)),
            (0x1e, 0, 0) => plain(pick(FmvWX, FmvDX)),
            _ => None,
        },
        _ => None,
    }
}

/// Executes `insn`: reads its sources, writes its destination, accrues `fflags`.
pub fn execute(
    insn: &FpInsn,
    fp: &mut FpState,
    x: &mut impl IntRegs,
) -> Result<(), IllegalRounding> {
    use super as f;
    use FpOp::*;
    let FpInsn { op, rd, rs1, rs2, rs3, rm } = *insn;
    // Only read for operations that round: the others have no rm field.
    let mode = |fp: &FpState| fp.rounding(u32::from(rm)).ok_or(IllegalRounding);
    let (s1, s2, s3) = (fp.get_s(rs1), fp.get_s(rs2), fp.get_s(rs3));
    let (d1, d2, d3) = (fp.get(rs1), fp.get(rs2), fp.get(rs3));
    let xs1 = x.x(rs1);
    let flags = match op {
        FaddS | FsubS | FmulS | FdivS | FsqrtS | FmaddS | FmsubS | FnmsubS | FnmaddS | FcvtSD
        | FcvtSW | FcvtSWu | FcvtSL | FcvtSLu => {
            let rm = mode(fp)?;
            let (r, flags) = match op {
                FaddS => f::fadd_s(s1, s2, rm),
                FsubS => f::fsub_s(s1, s2, rm),
                FmulS => f::fmul_s(s1, s2, rm),
                FdivS => f::fdiv_s(s1, s2, rm),
                FsqrtS => f::fsqrt_s(s1, rm),
                FmaddS => f::fmadd_s(s1, s2, s3, rm),
                FmsubS => f::fmsub_s(s1, s2, s3, rm),
                FnmsubS => f::fnmsub_s(s1, s2, s3, rm),
                FnmaddS => f::fnmadd_s(s1, s2, s3, rm),
                FcvtSD => f::fcvt_s_d(d1, rm),
                FcvtSW => f::fcvt_s_w(xs1, rm),
                FcvtSWu => f::fcvt_s_wu(xs1, rm),
                FcvtSL => f::fcvt_s_l(xs1, rm),
                _ => f::fcvt_s_lu(xs1, rm),
            };
            fp.set_s(rd, r);
            flags
        }
        FaddD | FsubD | FmulD | FdivD | FsqrtD | FmaddD | FmsubD | FnmsubD | FnmaddD | FcvtDS
        | FcvtDW | FcvtDWu | FcvtDL | FcvtDLu => {
            let rm = mode(fp)?;
            let (r, flags) = match op {
                FaddD => f::fadd_d(d1, d2, rm),
                FsubD => f::fsub_d(d1, d2, rm),
                FmulD => f::fmul_d(d1, d2, rm),
                FdivD => f::fdiv_d(d1, d2, rm),
                FsqrtD => f::fsqrt_d(d1, rm),
                FmaddD => f::fmadd_d(d1, d2, d3, rm),
                FmsubD => f::fmsub_d(d1, d2, d3, rm),
                FnmsubD => f::fnmsub_d(d1, d2, d3, rm),
                FnmaddD => f::fnmadd_d(d1, d2, d3, rm),
                FcvtDS => f::fcvt_d_s(s1, rm),
                FcvtDW => f::fcvt_d_w(xs1, rm),
                FcvtDWu => f::fcvt_d_wu(xs1, rm),
                FcvtDL => f::fcvt_d_l(xs1, rm),
                _ => f::fcvt_d_lu(xs1, rm),
            };
            fp.set(rd, r);
            flags
        }
        FcvtWS | FcvtWuS | FcvtLS | FcvtLuS | FcvtWD | FcvtWuD | FcvtLD | FcvtLuD => {
            let rm = mode(fp)?;
            let (r, flags) = match op {
                FcvtWS => f::fcvt_w_s(s1, rm),
                FcvtWuS => f::fcvt_wu_s(s1, rm),
                FcvtLS => f::fcvt_l_s(s1, rm),
                FcvtLuS => f::fcvt_lu_s(s1, rm),
                FcvtWD => f::fcvt_w_d(d1, rm),
                FcvtWuD => f::fcvt_wu_d(d1, rm),
                FcvtLD => f::fcvt_l_d(d1, rm),
                _ => f::fcvt_lu_d(d1, rm),
            };
            x.set_x(rd, r);
            flags
        }
        FsgnjS | FsgnjnS | FsgnjxS | FminS | FmaxS => {
            let (r, flags) = match op {
                FsgnjS => (f::fsgnj_s(s1, s2), f::Flags::NONE),
                FsgnjnS => (f::fsgnjn_s(s1, s2), f::Flags::NONE),
                FsgnjxS => (f::fsgnjx_s(s1, s2), f::Flags::NONE),
                FminS => f::fmin_s(s1, s2),
                _ => f::fmax_s(s1, s2),
            };
            fp.set_s(rd, r);
            flags
        }
        FsgnjD | FsgnjnD | FsgnjxD | FminD | FmaxD => {
            let (r, flags) = match op {
                FsgnjD => (f::fsgnj_d(d1, d2), f::Flags::NONE),
                FsgnjnD => (f::fsgnjn_d(d1, d2), f::Flags::NONE),
                FsgnjxD => (f::fsgnjx_d(d1, d2), f::Flags::NONE),
                FminD => f::fmin_d(d1, d2),
                _ => f::fmax_d(d1, d2),
            };
            fp.set(rd, r);
            flags
        }
        FeqS | FltS | FleS | FeqD | FltD | FleD => {
            let (r, flags) = match op {
                FeqS => f::feq_s(s1, s2),
                FltS => f::flt_s(s1, s2),
                FleS => f::fle_s(s1, s2),
                FeqD => f::feq_d(d1, d2),
                FltD => f::flt_d(d1, d2),
                _ => f::fle_d(d1, d2),
            };
            x.set_x(rd, u64::from(r));
            flags
        }
        FclassS => {
            x.set_x(rd, f::fclass_s(s1));
            f::Flags::NONE
        }
        FclassD => {
            x.set_x(rd, f::fclass_d(d1));
            f::Flags::NONE
        }
        FmvXW => {
            x.set_x(rd, f::fmv_x_w(d1));
            f::Flags::NONE
        }
        FmvXD => {
            x.set_x(rd, f::fmv_x_d(d1));
            f::Flags::NONE
        }
        FmvWX => {
            fp.set(rd, f::fmv_w_x(xs1));
            f::Flags::NONE
        }
        FmvDX => {
            fp.set(rd, f::fmv_d_x(xs1));
            f::Flags::NONE
        }
    };
    fp.accrue(flags);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fpu::{CSR_FFLAGS, CSR_FRM, Flags};

    struct Regs([u64; 32]);

    impl IntRegs for Regs {
        fn x(&self, index: u8) -> u64 {
            if index == 0 { 0 } else { self.0[usize::from(index & 31)] }
        }
        fn set_x(&mut self, index: u8, value: u64) {
            if index != 0 {
                self.0[usize::from(index & 31)] = value;
            }
        }
    }

    fn run(word: u32, fp: &mut FpState, x: &mut Regs) -> Result<(), IllegalRounding> {
        let insn = decode(word).expect("legal encoding");
        execute(&insn, fp, x)
    }

    #[test]
    fn decodes_the_encodings_gas_produces() {
        // Words from riscv64-linux-gnu-as for the instructions in the comments.
        let cases: [(u32, FpOp, u8, u8, u8, u8, u8); 14] = [
            (0x0020_70d3, FpOp::FaddS, 1, 0, 2, 0, 7), // fadd.s ft1, ft0, ft2 (dyn)
            (0x0220_00d3, FpOp::FaddD, 1, 0, 2, 0, 0), // fadd.d ft1, ft0, ft2, rne
            (0x5800_10d3, FpOp::FsqrtS, 1, 0, 0, 0, 1), // fsqrt.s ft1, ft0, rtz
            (0x1a20_f0c3, FpOp::FmaddD, 1, 1, 2, 3, 7), // fmadd.d ft1, ft1, ft2, ft3
            (0x1820_f0cf, FpOp::FnmaddS, 1, 1, 2, 3, 7), // fnmadd.s ft1, ft1, ft2, ft3
            (0xa020_2553, FpOp::FeqS, 10, 0, 2, 0, 0), // feq.s a0, ft0, ft2
            (0xe200_1553, FpOp::FclassD, 10, 0, 0, 0, 0), // fclass.d a0, ft0
            (0xe200_0553, FpOp::FmvXD, 10, 0, 0, 0, 0), // fmv.x.d a0, ft0
            (0xf005_00d3, FpOp::FmvWX, 1, 10, 0, 0, 0), // fmv.w.x ft1, a0
            (0xc210_1553, FpOp::FcvtWuD, 10, 0, 1, 0, 1), // fcvt.wu.d a0, ft0, rtz
            (0xd225_70d3, FpOp::FcvtDL, 1, 10, 2, 0, 7), // fcvt.d.l ft1, a0
            (0x4010_70d3, FpOp::FcvtSD, 1, 0, 1, 0, 7), // fcvt.s.d ft1, ft0
            (0x4200_00d3, FpOp::FcvtDS, 1, 0, 0, 0, 0), // fcvt.d.s ft1, ft0
            (0x2a20_10d3, FpOp::FmaxD, 1, 0, 2, 0, 0), // fmax.d ft1, ft0, ft2
        ];
        for (word, op, rd, rs1, rs2, rs3, rm) in cases {
            let got = decode(word);
            assert_eq!(got, Some(FpInsn { op, rd, rs1, rs2, rs3, rm }), "{word:#010x}");
        }
    }

    #[test]
    fn op_indices_round_trip() {
        for (i, op) in FpOp::ALL.iter().enumerate() {
            assert_eq!(*op as usize, i);
            assert_eq!(FpOp::from_index(i as u8), Some(*op));
        }
        assert_eq!(FpOp::from_index(58), None);
    }

    #[test]
    fn loads_and_stores() {
        // flw ft1, -4(a0); fld fs0, 8(sp); fsw ft1, -4(a0); fsd fs0, 2040(sp) (from gas).
        let flw = decode_mem(0xffc5_2087).expect("flw");
        assert_eq!((flw.op, flw.reg, flw.base, flw.offset), (FpMemOp::Flw, 1, 10, -4));
        let fld = decode_mem(0x0081_3407).expect("fld");
        assert_eq!((fld.op, fld.reg, fld.base, fld.offset), (FpMemOp::Fld, 8, 2, 8));
        let fsw = decode_mem(0xfe15_2e27).expect("fsw");
        assert_eq!((fsw.op, fsw.reg, fsw.base, fsw.offset), (FpMemOp::Fsw, 1, 10, -4));
        let fsd = decode_mem(0x7e81_3c27).expect("fsd");
        assert_eq!((fsd.op, fsd.reg, fsd.base, fsd.offset), (FpMemOp::Fsd, 8, 2, 2040));
        assert_eq!(decode_mem(0x0005_1087), None); // LOAD-FP funct3 1 (flh: no Zfh)
        assert_eq!(decode_mem(0x0005_4087), None); // funct3 4 (flq)
        assert_eq!(FpMemOp::Flw.loaded(0x3f80_0000), 0xffff_ffff_3f80_0000);
        assert_eq!(FpMemOp::Fsw.stored(0x1234_5678_3f80_0000), 0x3f80_0000);
        assert_eq!(FpMemOp::Fld.loaded(7), 7);
        assert_eq!((FpMemOp::Fsw.bytes(), FpMemOp::Fsd.bytes()), (4, 8));
    }

    #[test]
    fn rejects_reserved_encodings() {
        assert_eq!(decode(0x0020_50d3), None); // fadd.s with rm = 5
        assert_eq!(decode(0x0020_60d3), None); // rm = 6
        assert_eq!(decode(0x0420_00d3), None); // fmt = 2 (half, not implemented)
        assert_eq!(decode(0x0620_00d3), None); // fmt = 3 (quad)
        assert_eq!(decode(0x5810_10d3), None); // fsqrt.s with rs2 != 0
        assert_eq!(decode(0x2000_30d3), None); // fsgnj funct3 = 3
        assert_eq!(decode(0xa020_30d3), None); // compare funct3 = 3
        assert_eq!(decode(0xc040_00d3), None); // fcvt.x.s with rs2 = 4
        assert_eq!(decode(0x4000_00d3), None); // fcvt.s.s
        assert_eq!(decode(0xe000_20d3), None); // fmv/fclass funct3 = 2
        assert_eq!(decode(0x0000_0013), None); // not FP at all
    }

    #[test]
    fn executes_with_dynamic_rounding_and_flags() {
        let mut fp = FpState::default();
        let mut x = Regs([0; 32]);
        fp.set(0, 1.0f64.to_bits());
        fp.set(2, 3.0f64.to_bits());
        // fdiv.d ft1, ft0, ft2 under frm = RUP.
        fp.csr_write(CSR_FRM, 3);
        run(0x1a20_70d3, &mut fp, &mut x).expect("legal frm");
        assert_eq!(fp.get(1), (1.0f64 / 3.0).to_bits() + 1);
        assert_eq!(fp.csr_read(CSR_FFLAGS), Some(u64::from(Flags::NX.bits())));
        // A reserved frm makes the DYN instruction illegal and changes nothing.
        fp.csr_write(CSR_FRM, 6);
        fp.set(1, 0);
        assert_eq!(run(0x1a20_70d3, &mut fp, &mut x), Err(IllegalRounding));
        assert_eq!(fp.get(1), 0);
        // Non-rounding ops ignore frm: fmax.d works.
        run(0x2a20_10d3, &mut fp, &mut x).expect("no rm");
        assert_eq!(fp.get(1), 3.0f64.to_bits());
    }

    #[test]
    fn integer_destinations_and_boxing() {
        let mut fp = FpState::default();
        let mut x = Regs([0; 32]);
        // fmv.w.x ft1, a0 boxes; fmv.x.d a0, ft0 is raw.
        x.0[10] = 0x1234_5678_bf80_0000;
        run(0xf005_00d3, &mut fp, &mut x).expect("fmv.w.x");
        assert_eq!(fp.get(1), 0xffff_ffff_bf80_0000);
        // feq.s a0, ft0, ft2 with ft0 not boxed: canonical NaN, quiet: 0 and no flag.
        fp.set(0, 1.0f64.to_bits());
        fp.set_s(2, 0x7fc0_0000);
        run(0xa020_2553, &mut fp, &mut x).expect("feq.s");
        assert_eq!(x.0[10], 0);
        assert_eq!(fp.fflags(), Flags::NONE);
        // feq.s x0, ... with a signalling NaN still raises NV although the result is dropped.
        fp.set_s(2, 0x7f80_0001);
        run(0xa020_2053, &mut fp, &mut x).expect("feq.s x0");
        assert_eq!(fp.fflags(), Flags::NV);
        // fcvt.wu.d a0, ft0, rtz of -1.0: NV and 0.
        fp.set(0, (-1.0f64).to_bits());
        run(0xc210_1553, &mut fp, &mut x).expect("fcvt.wu.d");
        assert_eq!(x.0[10], 0);
    }
}
