//! The interpreter loop: runs pre-decoded [`Op`]s until something needs the host.
//!
//! [`run`] executes from `cpu.pc` and returns an [`Exit`] when the guest makes an `ecall`,
//! reaches the exit sentinel, traps, runs out of fuel or out of pages. It keeps the op index
//! (`(pc - base) / 2`) in a local and works block by block: at a block's first op it charges the
//! block's length ([`Op::blk`]) against the fuel, all at once, and stops with
//! [`Exit::OutOfFuel`] *before* a block that does not fit, so a call never retires more
//! instructions than its fuel; inside a block it runs op after op with no accounting at all.
//! A trap in the middle of a block refunds the part of the block that did not run, so
//! `cpu.instret` counts exactly the instructions retired.
//!
//! Handlers do no bit twiddling: operands were unpacked by the decoder, `x0` destinations were
//! turned into NOPs or the sink register, register indices are `u8`s into a 256-slot file so
//! indexing needs neither a bounds check nor a mask. Memory goes through [`Memory`]'s TLB fast path.
//!
//! Semantics choices (spec-allowed, deterministic): misaligned loads and stores work (as byte
//! sequences); misaligned LR/SC/AMOs trap; `cycle` and `time` read the retired-instruction
//! count, like `instret`; `fence`/`fence.i` are no-ops.

use crate::code::Code;
use crate::cpu::{Cpu, XRegs};
use crate::fpu::insn::{FpInsn, FpOp};
use crate::memory::{MemFault, Memory};
use crate::op::{Kind, Op};

/// Why a guest stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrapKind {
    /// An illegal or reserved instruction (raw bits).
    IllegalInstruction(u32),
    /// Fetching from an address with no executable code.
    FetchFault,
    /// A load from an unmapped or unreadable address.
    LoadFault(u64),
    /// A store (or AMO) to an unmapped or read-only address.
    StoreFault(u64),
    /// An LR/SC/AMO at an address not aligned to its size.
    MisalignedAtomic(u64),
    /// `ebreak`.
    Breakpoint,
    /// `free`/`realloc` of a pointer the host heap did not hand out (or freed twice).
    BadFree(u64),
    /// The guest sent itself this signal (`kill`/`tgkill`, e.g. `abort()`): no handlers run.
    Signal(u8),
}

/// What made [`run`] return. `cpu.pc` is the pc of the instruction concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// `ecall` at `cpu.pc` (retired; resume at `pc + 4`).
    Ecall,
    /// The exit sentinel was reached (a call returned).
    Stop,
    /// The instruction at `cpu.pc` trapped (not retired).
    Trap(TrapKind),
    /// The block starting at `cpu.pc` needs more fuel than is left.
    OutOfFuel,
    /// A store at `cpu.pc` needed a page beyond the budget (not retired).
    OutOfPages,
}

const CSR_CYCLE: i32 = 0xc00;
const FETCH_FAULT: Op = Op::bare(Kind::FetchFault, 1);
const CSR_TIME: i32 = 0xc01;
const CSR_INSTRET: i32 = 0xc02;

/// Runs from `cpu.pc` (see the module doc). `fuel` is the instruction budget left; it is
/// decreased by what was charged.
#[expect(clippy::indexing_slicing, reason = "register indices are u8s into [u64; 256]")]
pub fn run(cpu: &mut Cpu, mem: &mut Memory<'_>, code: &Code, fuel: &mut u64) -> Exit {
    let ops = code.ops();
    let splits = code.splits();
    let Some(mut idx) = code.index_of(cpu.pc) else {
        return Exit::Trap(TrapKind::FetchFault);
    };
    let x = &mut cpu.x;
    let fp = &mut cpu.fp;
    let mut left = *fuel;
    // Within one `run` only instructions spend fuel, so the instructions retired so far are
    // `base + fuel_in - left` (blocks are charged in full, traps refund): no counter per block.
    let (base, fuel_in) = (cpu.instret, *fuel);
    macro_rules! instret {
        () => {
            base.wrapping_add(fuel_in.wrapping_sub(left))
        };
    }

    macro_rules! r {
        ($i:expr) => {
            x[usize::from($i)]
        };
    }
    // Leaves mid-block: refund the unexecuted rest of the block (this op included).
    macro_rules! leave {
        ($op:expr, $exit:expr) => {{
            left += u64::from($op.blk);
            cpu.pc = code.pc_of(idx);
            *fuel = left;
            cpu.instret = instret!();
            return $exit;
        }};
    }
    macro_rules! mem {
        ($op:expr, $e:expr, $fault:path) => {
            match $e {
                Ok(v) => v,
                Err(MemFault::Access { addr }) => leave!($op, Exit::Trap($fault(addr))),
                Err(MemFault::OutOfPages { .. }) => leave!($op, Exit::OutOfPages),
            }
        };
    }
    macro_rules! amo {
        ($op:expr, $load:ident, $store:ident, $t:ty, $f:expr) => {{
            let addr = r!($op.rs1);
            if !addr.is_multiple_of(std::mem::size_of::<$t>() as u64) {
                leave!($op, Exit::Trap(TrapKind::MisalignedAtomic(addr)));
            }
            let old = mem!($op, mem.$load(addr), TrapKind::StoreFault);
            let src = r!($op.rs2) as $t;
            let f: fn($t, $t) -> $t = $f;
            mem!($op, mem.$store(addr, f(old, src)), TrapKind::StoreFault);
            // Sign-extend the old value (`.w` forms load 32 bits).
            r!($op.rd) = old as i64 as u64;
            if std::mem::size_of::<$t>() == 4 {
                r!($op.rd) = old as i32 as i64 as u64;
            }
        }};
    }

    macro_rules! branch {
        ($op:expr, $taken:expr) => {
            if $taken {
                idx.wrapping_add_signed($op.imm as isize)
            } else {
                idx.wrapping_add(usize::from($op.len))
            }
        };
    }

    // The arm of a compressed (2-byte) kind: its body, then one halfword on.
    macro_rules! compressed {
        ($op:ident, $body:expr) => {{
            $body;
            idx = idx.wrapping_add(1);
            $op = ops.get(idx).unwrap_or(&FETCH_FAULT);
            continue;
        }};
    }

    'block: loop {
        let Some(first) = ops.get(idx) else {
            cpu.pc = code.pc_of(idx);
            *fuel = left;
            cpu.instret = instret!();
            return Exit::Trap(TrapKind::FetchFault);
        };
        let mut op: &Op = if first.kind == Kind::Split {
            splits.get(first.imm as usize).unwrap_or(first)
        } else {
            first
        };
        let blk = u64::from(op.blk);
        if blk > left {
            cpu.pc = code.pc_of(idx);
            *fuel = left;
            cpu.instret = instret!();
            return Exit::OutOfFuel;
        }
        left -= blk;
        loop {
            macro_rules! imm {
                () => {
                    op.imm as i64 as u64
                };
            }
            match op.kind {
                Kind::Nop => {}
                Kind::Li => r!(op.rd) = imm!(),
                Kind::Mv => r!(op.rd) = r!(op.rs1),
                Kind::Auipc => r!(op.rd) = code.pc_of(idx).wrapping_add(imm!()),
                Kind::Addi => r!(op.rd) = r!(op.rs1).wrapping_add(imm!()),
                Kind::Slti => r!(op.rd) = u64::from((r!(op.rs1) as i64) < imm!() as i64),
                Kind::Sltiu => r!(op.rd) = u64::from(r!(op.rs1) < imm!()),
                Kind::Xori => r!(op.rd) = r!(op.rs1) ^ imm!(),
                Kind::Ori => r!(op.rd) = r!(op.rs1) | imm!(),
                Kind::Andi => r!(op.rd) = r!(op.rs1) & imm!(),
                Kind::Slli => r!(op.rd) = r!(op.rs1) << (imm!() & 63),
                Kind::Srli => r!(op.rd) = r!(op.rs1) >> (imm!() & 63),
                Kind::Srai => r!(op.rd) = ((r!(op.rs1) as i64) >> (imm!() & 63)) as u64,
                Kind::Addiw => r!(op.rd) = sext32(r!(op.rs1).wrapping_add(imm!()) as u32),
                Kind::Slliw => r!(op.rd) = sext32((r!(op.rs1) as u32) << (imm!() & 31)),
                Kind::Srliw => r!(op.rd) = sext32((r!(op.rs1) as u32) >> (imm!() & 31)),
                Kind::Sraiw => r!(op.rd) = ((r!(op.rs1) as i32) >> (imm!() & 31)) as i64 as u64,
                Kind::Add => r!(op.rd) = r!(op.rs1).wrapping_add(r!(op.rs2)),
                Kind::Sub => r!(op.rd) = r!(op.rs1).wrapping_sub(r!(op.rs2)),
                Kind::Sll => r!(op.rd) = r!(op.rs1) << (r!(op.rs2) & 63),
                Kind::Slt => r!(op.rd) = u64::from((r!(op.rs1) as i64) < (r!(op.rs2) as i64)),
                Kind::Sltu => r!(op.rd) = u64::from(r!(op.rs1) < r!(op.rs2)),
                Kind::Xor => r!(op.rd) = r!(op.rs1) ^ r!(op.rs2),
                Kind::Srl => r!(op.rd) = r!(op.rs1) >> (r!(op.rs2) & 63),
                Kind::Sra => r!(op.rd) = ((r!(op.rs1) as i64) >> (r!(op.rs2) & 63)) as u64,
                Kind::Or => r!(op.rd) = r!(op.rs1) | r!(op.rs2),
                Kind::And => r!(op.rd) = r!(op.rs1) & r!(op.rs2),
                Kind::Addw => r!(op.rd) = sext32(r!(op.rs1).wrapping_add(r!(op.rs2)) as u32),
                Kind::Subw => r!(op.rd) = sext32(r!(op.rs1).wrapping_sub(r!(op.rs2)) as u32),
                Kind::Sllw => r!(op.rd) = sext32((r!(op.rs1) as u32) << (r!(op.rs2) & 31)),
                Kind::Srlw => r!(op.rd) = sext32((r!(op.rs1) as u32) >> (r!(op.rs2) & 31)),
                Kind::Sraw => {
                    r!(op.rd) = ((r!(op.rs1) as i32) >> (r!(op.rs2) & 31)) as i64 as u64;
                }
                Kind::Mul => r!(op.rd) = r!(op.rs1).wrapping_mul(r!(op.rs2)),
                Kind::Mulh => {
                    let p = i128::from(r!(op.rs1) as i64) * i128::from(r!(op.rs2) as i64);
                    r!(op.rd) = (p >> 64) as u64;
                }
                Kind::Mulhsu => {
                    let p = i128::from(r!(op.rs1) as i64).wrapping_mul(i128::from(r!(op.rs2)));
                    r!(op.rd) = (p >> 64) as u64;
                }
                Kind::Mulhu => {
                    let p = u128::from(r!(op.rs1)) * u128::from(r!(op.rs2));
                    r!(op.rd) = (p >> 64) as u64;
                }
                Kind::Div => r!(op.rd) = div(r!(op.rs1), r!(op.rs2)),
                Kind::Divu => r!(op.rd) = r!(op.rs1).checked_div(r!(op.rs2)).unwrap_or(u64::MAX),
                Kind::Rem => r!(op.rd) = rem(r!(op.rs1), r!(op.rs2)),
                Kind::Remu => {
                    let (a, b) = (r!(op.rs1), r!(op.rs2));
                    r!(op.rd) = a.checked_rem(b).unwrap_or(a);
                }
                Kind::Mulw => {
                    r!(op.rd) = sext32((r!(op.rs1) as u32).wrapping_mul(r!(op.rs2) as u32))
                }
                Kind::Divw => r!(op.rd) = divw(r!(op.rs1) as i32, r!(op.rs2) as i32),
                Kind::Divuw => {
                    let (a, b) = (r!(op.rs1) as u32, r!(op.rs2) as u32);
                    r!(op.rd) = sext32(a.checked_div(b).unwrap_or(u32::MAX));
                }
                Kind::Remw => r!(op.rd) = remw(r!(op.rs1) as i32, r!(op.rs2) as i32),
                Kind::Remuw => {
                    let (a, b) = (r!(op.rs1) as u32, r!(op.rs2) as u32);
                    r!(op.rd) = sext32(a.checked_rem(b).unwrap_or(a));
                }
                Kind::Lb => {
                    let v =
                        mem!(op, mem.load_u8(r!(op.rs1).wrapping_add(imm!())), TrapKind::LoadFault);
                    r!(op.rd) = v as i8 as i64 as u64;
                }
                Kind::Lh => {
                    let v = mem!(
                        op,
                        mem.load_u16(r!(op.rs1).wrapping_add(imm!())),
                        TrapKind::LoadFault
                    );
                    r!(op.rd) = v as i16 as i64 as u64;
                }
                Kind::Lw => {
                    let v = mem!(
                        op,
                        mem.load_u32(r!(op.rs1).wrapping_add(imm!())),
                        TrapKind::LoadFault
                    );
                    r!(op.rd) = sext32(v);
                }
                Kind::Ld => {
                    r!(op.rd) = mem!(
                        op,
                        mem.load_u64(r!(op.rs1).wrapping_add(imm!())),
                        TrapKind::LoadFault
                    );
                }
                Kind::Lbu => {
                    let v =
                        mem!(op, mem.load_u8(r!(op.rs1).wrapping_add(imm!())), TrapKind::LoadFault);
                    r!(op.rd) = u64::from(v);
                }
                Kind::Lhu => {
                    let v = mem!(
                        op,
                        mem.load_u16(r!(op.rs1).wrapping_add(imm!())),
                        TrapKind::LoadFault
                    );
                    r!(op.rd) = u64::from(v);
                }
                Kind::Lwu => {
                    let v = mem!(
                        op,
                        mem.load_u32(r!(op.rs1).wrapping_add(imm!())),
                        TrapKind::LoadFault
                    );
                    r!(op.rd) = u64::from(v);
                }
                Kind::Sb => {
                    let a = r!(op.rs1).wrapping_add(imm!());
                    mem!(op, mem.store_u8(a, r!(op.rs2) as u8), TrapKind::StoreFault);
                }
                Kind::Sh => {
                    let a = r!(op.rs1).wrapping_add(imm!());
                    mem!(op, mem.store_u16(a, r!(op.rs2) as u16), TrapKind::StoreFault);
                }
                Kind::Sw => {
                    let a = r!(op.rs1).wrapping_add(imm!());
                    mem!(op, mem.store_u32(a, r!(op.rs2) as u32), TrapKind::StoreFault);
                }
                Kind::Sd => {
                    let a = r!(op.rs1).wrapping_add(imm!());
                    mem!(op, mem.store_u64(a, r!(op.rs2)), TrapKind::StoreFault);
                }
                Kind::Beq => {
                    idx = branch!(op, r!(op.rs1) == r!(op.rs2));
                    continue 'block;
                }
                Kind::Bne => {
                    idx = branch!(op, r!(op.rs1) != r!(op.rs2));
                    continue 'block;
                }
                Kind::Blt => {
                    idx = branch!(op, (r!(op.rs1) as i64) < (r!(op.rs2) as i64));
                    continue 'block;
                }
                Kind::Bge => {
                    idx = branch!(op, (r!(op.rs1) as i64) >= (r!(op.rs2) as i64));
                    continue 'block;
                }
                Kind::Bltu => {
                    idx = branch!(op, r!(op.rs1) < r!(op.rs2));
                    continue 'block;
                }
                Kind::Bgeu => {
                    idx = branch!(op, r!(op.rs1) >= r!(op.rs2));
                    continue 'block;
                }
                Kind::Jal => {
                    r!(op.rd) = code.pc_of(idx.wrapping_add(usize::from(op.len)));
                    idx = idx.wrapping_add_signed(op.imm as isize);
                    continue 'block;
                }
                Kind::Jalr => {
                    let target = r!(op.rs1).wrapping_add(imm!()) & !1;
                    r!(op.rd) = code.pc_of(idx.wrapping_add(usize::from(op.len)));
                    match code.index_of(target) {
                        Some(i) => idx = i,
                        None => {
                            cpu.pc = target;
                            *fuel = left;
                            cpu.instret = instret!();
                            return Exit::Trap(TrapKind::FetchFault);
                        }
                    }
                    continue 'block;
                }
                Kind::Ecall => {
                    cpu.pc = code.pc_of(idx);
                    *fuel = left;
                    cpu.instret = instret!();
                    return Exit::Ecall;
                }
                Kind::Ebreak => leave!(op, Exit::Trap(TrapKind::Breakpoint)),
                Kind::Stop => leave!(op, Exit::Stop),
                Kind::Illegal => {
                    leave!(op, Exit::Trap(TrapKind::IllegalInstruction(op.imm as u32)))
                }
                Kind::FetchFault => leave!(op, Exit::Trap(TrapKind::FetchFault)),
                Kind::Split => continue 'block,
                Kind::Csrrw
                | Kind::Csrrs
                | Kind::Csrrc
                | Kind::Csrrwi
                | Kind::Csrrsi
                | Kind::Csrrci => {
                    // Instructions retired before this one: the block was charged in full.
                    let retired = instret!() - u64::from(op.blk);
                    let Some(old) = csr_read(op.imm, fp, retired) else {
                        leave!(op, Exit::Trap(TrapKind::IllegalInstruction(0)));
                    };
                    let src = match op.kind {
                        Kind::Csrrw | Kind::Csrrs | Kind::Csrrc => r!(op.rs1),
                        _ => u64::from(op.rs1),
                    };
                    let new = match op.kind {
                        Kind::Csrrw | Kind::Csrrwi => Some(src),
                        Kind::Csrrs | Kind::Csrrsi => (op.rs1 != 0).then_some(old | src),
                        _ => (op.rs1 != 0).then_some(old & !src),
                    };
                    if let Some(new) = new
                        && !fp.csr_write(op.imm as u16, new)
                    {
                        leave!(op, Exit::Trap(TrapKind::IllegalInstruction(0)));
                    }
                    r!(op.rd) = old;
                }
                Kind::LrW | Kind::LrD => {
                    let addr = r!(op.rs1);
                    let v = if op.kind == Kind::LrW {
                        if !addr.is_multiple_of(4) {
                            leave!(op, Exit::Trap(TrapKind::MisalignedAtomic(addr)));
                        }
                        sext32(mem!(op, mem.load_u32(addr), TrapKind::LoadFault))
                    } else {
                        if !addr.is_multiple_of(8) {
                            leave!(op, Exit::Trap(TrapKind::MisalignedAtomic(addr)));
                        }
                        mem!(op, mem.load_u64(addr), TrapKind::LoadFault)
                    };
                    cpu.reservation = Some(addr);
                    r!(op.rd) = v;
                }
                Kind::ScW | Kind::ScD => {
                    let addr = r!(op.rs1);
                    let size = if op.kind == Kind::ScW { 4 } else { 8 };
                    if !addr.is_multiple_of(size) {
                        leave!(op, Exit::Trap(TrapKind::MisalignedAtomic(addr)));
                    }
                    let ok = cpu.reservation.take() == Some(addr);
                    if ok {
                        if size == 4 {
                            mem!(op, mem.store_u32(addr, r!(op.rs2) as u32), TrapKind::StoreFault);
                        } else {
                            mem!(op, mem.store_u64(addr, r!(op.rs2)), TrapKind::StoreFault);
                        }
                    }
                    r!(op.rd) = u64::from(!ok);
                }
                Kind::AmoswapW => amo!(op, load_u32, store_u32, u32, |_, b| b),
                Kind::AmoaddW => amo!(op, load_u32, store_u32, u32, |a, b| a.wrapping_add(b)),
                Kind::AmoxorW => amo!(op, load_u32, store_u32, u32, |a, b| a ^ b),
                Kind::AmoandW => amo!(op, load_u32, store_u32, u32, |a, b| a & b),
                Kind::AmoorW => amo!(op, load_u32, store_u32, u32, |a, b| a | b),
                Kind::AmominW => {
                    amo!(op, load_u32, store_u32, u32, |a, b| (a as i32).min(b as i32) as u32)
                }
                Kind::AmomaxW => {
                    amo!(op, load_u32, store_u32, u32, |a, b| (a as i32).max(b as i32) as u32)
                }
                Kind::AmominuW => amo!(op, load_u32, store_u32, u32, |a, b| a.min(b)),
                Kind::AmomaxuW => amo!(op, load_u32, store_u32, u32, |a, b| a.max(b)),
                Kind::AmoswapD => amo!(op, load_u64, store_u64, u64, |_, b| b),
                Kind::AmoaddD => amo!(op, load_u64, store_u64, u64, |a, b| a.wrapping_add(b)),
                Kind::AmoxorD => amo!(op, load_u64, store_u64, u64, |a, b| a ^ b),
                Kind::AmoandD => amo!(op, load_u64, store_u64, u64, |a, b| a & b),
                Kind::AmoorD => amo!(op, load_u64, store_u64, u64, |a, b| a | b),
                Kind::AmominD => {
                    amo!(op, load_u64, store_u64, u64, |a, b| (a as i64).min(b as i64) as u64)
                }
                Kind::AmomaxD => {
                    amo!(op, load_u64, store_u64, u64, |a, b| (a as i64).max(b as i64) as u64)
                }
                Kind::AmominuD => amo!(op, load_u64, store_u64, u64, |a, b| a.min(b)),
                Kind::AmomaxuD => amo!(op, load_u64, store_u64, u64, |a, b| a.max(b)),
                Kind::Fp => {
                    let Some(fop) = FpOp::from_index(op.imm as u8) else {
                        leave!(op, Exit::Trap(TrapKind::IllegalInstruction(0)));
                    };
                    let insn = FpInsn {
                        op: fop,
                        rd: op.rd,
                        rs1: op.rs1,
                        rs2: op.rs2,
                        rs3: op.rs3,
                        rm: (op.imm >> 8) as u8,
                    };
                    if crate::fpu::insn::execute(&insn, fp, &mut XRegs(x)).is_err() {
                        leave!(op, Exit::Trap(TrapKind::IllegalInstruction(0)));
                    }
                }
                Kind::Flw => {
                    let v = mem!(
                        op,
                        mem.load_u32(r!(op.rs1).wrapping_add(imm!())),
                        TrapKind::LoadFault
                    );
                    fp.set(op.rd, crate::fpu::box_s(v));
                }
                Kind::Fld => {
                    let v = mem!(
                        op,
                        mem.load_u64(r!(op.rs1).wrapping_add(imm!())),
                        TrapKind::LoadFault
                    );
                    fp.set(op.rd, v);
                }
                Kind::Fsw => {
                    let a = r!(op.rs1).wrapping_add(imm!());
                    mem!(op, mem.store_u32(a, fp.get(op.rs2) as u32), TrapKind::StoreFault);
                }
                Kind::Fsd => {
                    let a = r!(op.rs1).wrapping_add(imm!());
                    mem!(op, mem.store_u64(a, fp.get(op.rs2)), TrapKind::StoreFault);
                }
                Kind::CNop => compressed!(op, {}),
                Kind::CLi => compressed!(op, r!(op.rd) = imm!()),
                Kind::CMv => compressed!(op, r!(op.rd) = r!(op.rs1)),
                Kind::CAddi => compressed!(op, r!(op.rd) = r!(op.rs1).wrapping_add(imm!())),
                Kind::CAddiw => {
                    compressed!(op, r!(op.rd) = sext32(r!(op.rs1).wrapping_add(imm!()) as u32))
                }
                Kind::CSlli => compressed!(op, r!(op.rd) = r!(op.rs1) << (imm!() & 63)),
                Kind::CSrli => compressed!(op, r!(op.rd) = r!(op.rs1) >> (imm!() & 63)),
                Kind::CSrai => {
                    compressed!(op, r!(op.rd) = ((r!(op.rs1) as i64) >> (imm!() & 63)) as u64)
                }
                Kind::CAndi => compressed!(op, r!(op.rd) = r!(op.rs1) & imm!()),
                Kind::CAdd => compressed!(op, r!(op.rd) = r!(op.rs1).wrapping_add(r!(op.rs2))),
                Kind::CSub => compressed!(op, r!(op.rd) = r!(op.rs1).wrapping_sub(r!(op.rs2))),
                Kind::CXor => compressed!(op, r!(op.rd) = r!(op.rs1) ^ r!(op.rs2)),
                Kind::COr => compressed!(op, r!(op.rd) = r!(op.rs1) | r!(op.rs2)),
                Kind::CAnd => compressed!(op, r!(op.rd) = r!(op.rs1) & r!(op.rs2)),
                Kind::CAddw => {
                    compressed!(op, r!(op.rd) = sext32(r!(op.rs1).wrapping_add(r!(op.rs2)) as u32))
                }
                Kind::CSubw => {
                    compressed!(op, r!(op.rd) = sext32(r!(op.rs1).wrapping_sub(r!(op.rs2)) as u32))
                }
                Kind::CLw => compressed!(op, {
                    let v = mem!(
                        op,
                        mem.load_u32(r!(op.rs1).wrapping_add(imm!())),
                        TrapKind::LoadFault
                    );
                    r!(op.rd) = sext32(v);
                }),
                Kind::CLd => compressed!(op, {
                    r!(op.rd) = mem!(
                        op,
                        mem.load_u64(r!(op.rs1).wrapping_add(imm!())),
                        TrapKind::LoadFault
                    );
                }),
                Kind::CSw => compressed!(op, {
                    let a = r!(op.rs1).wrapping_add(imm!());
                    mem!(op, mem.store_u32(a, r!(op.rs2) as u32), TrapKind::StoreFault);
                }),
                Kind::CSd => compressed!(op, {
                    let a = r!(op.rs1).wrapping_add(imm!());
                    mem!(op, mem.store_u64(a, r!(op.rs2)), TrapKind::StoreFault);
                }),
                Kind::CFld => compressed!(op, {
                    let v = mem!(
                        op,
                        mem.load_u64(r!(op.rs1).wrapping_add(imm!())),
                        TrapKind::LoadFault
                    );
                    fp.set(op.rd, v);
                }),
                Kind::CFsd => compressed!(op, {
                    let a = r!(op.rs1).wrapping_add(imm!());
                    mem!(op, mem.store_u64(a, fp.get(op.rs2)), TrapKind::StoreFault);
                }),
            }
            // Every kind that falls through to here is 4 bytes long: 2-byte ops that do not end
            // their block have compressed kinds, which step in their own arm (`compressed!`).
            // A constant step keeps the next op's address off this op's `len` load.
            idx = idx.wrapping_add(2);
            // The successor of an op that does not end its block is always in the table (it
            // ends with two block-ending sentinels); the fallback only keeps this check-free.
            op = ops.get(idx).unwrap_or(&FETCH_FAULT);
        }
    }
}

#[inline(always)]
fn sext32(v: u32) -> u64 {
    v as i32 as i64 as u64
}

fn div(a: u64, b: u64) -> u64 {
    let (a, b) = (a as i64, b as i64);
    if b == 0 { u64::MAX } else { a.wrapping_div(b) as u64 }
}

fn rem(a: u64, b: u64) -> u64 {
    let (a, b) = (a as i64, b as i64);
    if b == 0 { a as u64 } else { a.wrapping_rem(b) as u64 }
}

fn divw(a: i32, b: i32) -> u64 {
    if b == 0 { u64::MAX } else { a.wrapping_div(b) as i64 as u64 }
}

fn remw(a: i32, b: i32) -> u64 {
    if b == 0 { a as i64 as u64 } else { a.wrapping_rem(b) as i64 as u64 }
}

/// Reads a CSR the user level may read, or `None` (illegal). `retired` is `instret`.
fn csr_read(csr: i32, fp: &crate::fpu::FpState, retired: u64) -> Option<u64> {
    match csr {
        CSR_CYCLE | CSR_TIME | CSR_INSTRET => Some(retired),
        _ => fp.csr_read(u16::try_from(csr).ok()?),
    }
}

/// The op a block starting at `idx` would execute first (for tests and tools).
pub fn first_op(code: &Code, idx: usize) -> Option<Op> {
    code.resolved(idx)
}
