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
//! Adjacent pure ops listed in [`crate::fuse::FUSED`] run as one fused op: one dispatch for two
//! instructions, the first half from the fused op's own fields, the second from its own slot
//! (both through [`crate::alu::pure`] with constant kinds). Both are counted in the block's
//! length, neither can trap, so fuel and `instret` need nothing extra. A branch tail
//! ([`crate::fuse::BRANCH_TAIL`]) runs a packed pair and the `bne` that ends its block in one
//! dispatch.
//!
//! Handlers do no bit twiddling: operands were unpacked by the decoder, `x0` destinations were
//! turned into NOPs or the sink register, register indices are `u8`s into a 256-slot file so
//! indexing needs neither a bounds check nor a mask. Memory goes through [`Memory`]'s TLB fast path.
//!
//! Semantics choices (spec-allowed, deterministic): misaligned loads and stores work (as byte
//! sequences); misaligned LR/SC/AMOs trap; `cycle` and `time` read the retired-instruction
//! count, like `instret`; `fence`/`fence.i` are no-ops.

use crate::alu::{pure, pure_from, pure_value, sext32};
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
    // 64-bit load and store bodies, shared by their own arms and the fused arms.
    macro_rules! ld64 {
        ($op:expr) => {
            r!($op.rd) = mem!(
                $op,
                mem.load_u64(r!($op.rs1).wrapping_add($op.imm as i64 as u64)),
                TrapKind::LoadFault
            )
        };
    }
    macro_rules! sd64 {
        ($op:expr) => {{
            let a = r!($op.rs1).wrapping_add($op.imm as i64 as u64);
            mem!($op, mem.store_u64(a, r!($op.rs2)), TrapKind::StoreFault);
        }};
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

    // A conditional branch `$step` halfwords long (a constant of its kind).
    macro_rules! branch {
        ($op:expr, $taken:expr, $step:literal) => {
            if $taken { idx.wrapping_add_signed($op.imm as isize) } else { idx.wrapping_add($step) }
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

    // A fused pure pair (`fuse::FUSED`): packed, both halves are in this op; unpacked, the first
    // half is this op and the second the op at its own slot; then on past both, a constant step
    // for the kind.
    macro_rules! fused {
        ($op:ident, $k1:ident, $k2:ident) => {{
            const A: usize = Kind::$k1.halfwords();
            const B: usize = Kind::$k2.halfwords();
            let at = idx.wrapping_add(A);
            if Kind::$k1.packs() {
                // Packed: both halves are in this op (`Op::pack`).
                pure(x, &$op.first_half(), Kind::$k1, code.pc_of(idx));
                pure(x, &$op.second_half(), Kind::$k2, code.pc_of(at));
            } else {
                pure(x, $op, Kind::$k1, code.pc_of(idx));
                let second = ops.get(at).unwrap_or(&FETCH_FAULT);
                pure(x, second, Kind::$k2, code.pc_of(at));
            }
            idx = idx.wrapping_add(A + B);
            $op = ops.get(idx).unwrap_or(&FETCH_FAULT);
            continue;
        }};
    }

    // The forwarding twin of `fused!`: the second half gets the first half's result as `rs1`.
    macro_rules! fused_fwd {
        ($op:ident, $k1:ident, $k2:ident) => {{
            const A: usize = Kind::$k1.halfwords();
            const B: usize = Kind::$k2.halfwords();
            let at = idx.wrapping_add(A);
            if Kind::$k1.packs() {
                let v = pure_value(x, &$op.first_half(), Kind::$k1, code.pc_of(idx));
                pure_from(x, &$op.second_half(), Kind::$k2, code.pc_of(at), v);
            } else {
                let v = pure_value(x, $op, Kind::$k1, code.pc_of(idx));
                let second = ops.get(at).unwrap_or(&FETCH_FAULT);
                pure_from(x, second, Kind::$k2, code.pc_of(at), v);
            }
            idx = idx.wrapping_add(A + B);
            $op = ops.get(idx).unwrap_or(&FETCH_FAULT);
            continue;
        }};
    }

    // A branch tail (`fuse::BRANCH_TAIL`): a packed pure pair (forwarding or not), then the
    // `bne` that ends the block, read from its own slot; then the next block.
    macro_rules! fused_bne {
        ($block:lifetime, $op:ident, $k1:ident, $k2:ident, $fwd:literal) => {{
            const A: usize = Kind::$k1.halfwords();
            const B: usize = Kind::$k2.halfwords();
            let at = idx.wrapping_add(A);
            let v = pure_value(x, &$op.first_half(), Kind::$k1, code.pc_of(idx));
            if $fwd {
                pure_from(x, &$op.second_half(), Kind::$k2, code.pc_of(at), v);
            } else {
                pure(x, &$op.second_half(), Kind::$k2, code.pc_of(at));
            }
            idx = idx.wrapping_add(A + B);
            let br = ops.get(idx).unwrap_or(&FETCH_FAULT);
            idx = branch!(br, r!(br.rs1) != r!(br.rs2), 2);
            continue $block;
        }};
    }

    // A fused pair with a memory half: the first half runs, then `idx` and `$op` move to the
    // second (so a trap there reports the second's pc and refunds only its part of the block)
    // and it runs; then on past both.
    macro_rules! fused_mem {
        ($op:ident, $a:literal, $b:literal, $first:expr, $second:expr) => {{
            $first;
            idx = idx.wrapping_add($a);
            $op = ops.get(idx).unwrap_or(&FETCH_FAULT);
            $second;
            idx = idx.wrapping_add($b);
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
        let mut op = first;
        // A `Split` has `blk = 0`: its arm charges the op it displaced.
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
                Kind::Li => pure(x, op, Kind::Li, code.pc_of(idx)),
                Kind::Mv => pure(x, op, Kind::Mv, code.pc_of(idx)),
                Kind::Auipc => pure(x, op, Kind::Auipc, code.pc_of(idx)),
                Kind::Addi => pure(x, op, Kind::Addi, code.pc_of(idx)),
                Kind::Slti => pure(x, op, Kind::Slti, code.pc_of(idx)),
                Kind::Sltiu => pure(x, op, Kind::Sltiu, code.pc_of(idx)),
                Kind::Xori => pure(x, op, Kind::Xori, code.pc_of(idx)),
                Kind::Ori => pure(x, op, Kind::Ori, code.pc_of(idx)),
                Kind::Andi => pure(x, op, Kind::Andi, code.pc_of(idx)),
                Kind::Slli => pure(x, op, Kind::Slli, code.pc_of(idx)),
                Kind::Srli => pure(x, op, Kind::Srli, code.pc_of(idx)),
                Kind::Srai => pure(x, op, Kind::Srai, code.pc_of(idx)),
                Kind::Addiw => pure(x, op, Kind::Addiw, code.pc_of(idx)),
                Kind::Slliw => pure(x, op, Kind::Slliw, code.pc_of(idx)),
                Kind::Srliw => pure(x, op, Kind::Srliw, code.pc_of(idx)),
                Kind::Sraiw => pure(x, op, Kind::Sraiw, code.pc_of(idx)),
                Kind::Add => pure(x, op, Kind::Add, code.pc_of(idx)),
                Kind::Sub => pure(x, op, Kind::Sub, code.pc_of(idx)),
                Kind::Sll => pure(x, op, Kind::Sll, code.pc_of(idx)),
                Kind::Slt => pure(x, op, Kind::Slt, code.pc_of(idx)),
                Kind::Sltu => pure(x, op, Kind::Sltu, code.pc_of(idx)),
                Kind::Xor => pure(x, op, Kind::Xor, code.pc_of(idx)),
                Kind::Srl => pure(x, op, Kind::Srl, code.pc_of(idx)),
                Kind::Sra => pure(x, op, Kind::Sra, code.pc_of(idx)),
                Kind::Or => pure(x, op, Kind::Or, code.pc_of(idx)),
                Kind::And => pure(x, op, Kind::And, code.pc_of(idx)),
                Kind::Addw => pure(x, op, Kind::Addw, code.pc_of(idx)),
                Kind::Subw => pure(x, op, Kind::Subw, code.pc_of(idx)),
                Kind::Sllw => pure(x, op, Kind::Sllw, code.pc_of(idx)),
                Kind::Srlw => pure(x, op, Kind::Srlw, code.pc_of(idx)),
                Kind::Sraw => pure(x, op, Kind::Sraw, code.pc_of(idx)),
                Kind::Mul => pure(x, op, Kind::Mul, code.pc_of(idx)),
                Kind::Mulh => pure(x, op, Kind::Mulh, code.pc_of(idx)),
                Kind::Mulhsu => pure(x, op, Kind::Mulhsu, code.pc_of(idx)),
                Kind::Mulhu => pure(x, op, Kind::Mulhu, code.pc_of(idx)),
                Kind::Div => pure(x, op, Kind::Div, code.pc_of(idx)),
                Kind::Divu => pure(x, op, Kind::Divu, code.pc_of(idx)),
                Kind::Rem => pure(x, op, Kind::Rem, code.pc_of(idx)),
                Kind::Remu => pure(x, op, Kind::Remu, code.pc_of(idx)),
                Kind::Mulw => pure(x, op, Kind::Mulw, code.pc_of(idx)),
                Kind::Divw => pure(x, op, Kind::Divw, code.pc_of(idx)),
                Kind::Divuw => pure(x, op, Kind::Divuw, code.pc_of(idx)),
                Kind::Remw => pure(x, op, Kind::Remw, code.pc_of(idx)),
                Kind::Remuw => pure(x, op, Kind::Remuw, code.pc_of(idx)),
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
                Kind::Ld => ld64!(op),
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
                Kind::Sd => sd64!(op),
                Kind::Beq => {
                    idx = branch!(op, r!(op.rs1) == r!(op.rs2), 2);
                    continue 'block;
                }
                Kind::Bne => {
                    idx = branch!(op, r!(op.rs1) != r!(op.rs2), 2);
                    continue 'block;
                }
                Kind::CBeq => {
                    idx = branch!(op, r!(op.rs1) == r!(op.rs2), 1);
                    continue 'block;
                }
                Kind::CBne => {
                    idx = branch!(op, r!(op.rs1) != r!(op.rs2), 1);
                    continue 'block;
                }
                Kind::Blt => {
                    idx = branch!(op, (r!(op.rs1) as i64) < (r!(op.rs2) as i64), 2);
                    continue 'block;
                }
                Kind::Bge => {
                    idx = branch!(op, (r!(op.rs1) as i64) >= (r!(op.rs2) as i64), 2);
                    continue 'block;
                }
                Kind::Bltu => {
                    idx = branch!(op, r!(op.rs1) < r!(op.rs2), 2);
                    continue 'block;
                }
                Kind::Bgeu => {
                    idx = branch!(op, r!(op.rs1) >= r!(op.rs2), 2);
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
                Kind::Split => {
                    // A block cut (reached by a jump or by falling through): charge the block
                    // of the op it displaced, then run that op.
                    let real = splits.get(op.imm as usize).unwrap_or(&FETCH_FAULT);
                    let blk = u64::from(real.blk);
                    if blk > left {
                        cpu.pc = code.pc_of(idx);
                        *fuel = left;
                        cpu.instret = instret!();
                        return Exit::OutOfFuel;
                    }
                    left -= blk;
                    op = real;
                    continue;
                }
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
                Kind::CNop => compressed!(op, pure(x, op, Kind::CNop, 0)),
                Kind::CLi => compressed!(op, pure(x, op, Kind::CLi, 0)),
                Kind::CMv => compressed!(op, pure(x, op, Kind::CMv, 0)),
                Kind::CAddi => compressed!(op, pure(x, op, Kind::CAddi, 0)),
                Kind::CAddiw => compressed!(op, pure(x, op, Kind::CAddiw, 0)),
                Kind::CSlli => compressed!(op, pure(x, op, Kind::CSlli, 0)),
                Kind::CSrli => compressed!(op, pure(x, op, Kind::CSrli, 0)),
                Kind::CSrai => compressed!(op, pure(x, op, Kind::CSrai, 0)),
                Kind::CAndi => compressed!(op, pure(x, op, Kind::CAndi, 0)),
                Kind::CAdd => compressed!(op, pure(x, op, Kind::CAdd, 0)),
                Kind::CSub => compressed!(op, pure(x, op, Kind::CSub, 0)),
                Kind::CXor => compressed!(op, pure(x, op, Kind::CXor, 0)),
                Kind::COr => compressed!(op, pure(x, op, Kind::COr, 0)),
                Kind::CAnd => compressed!(op, pure(x, op, Kind::CAnd, 0)),
                Kind::CAddw => compressed!(op, pure(x, op, Kind::CAddw, 0)),
                Kind::CSubw => compressed!(op, pure(x, op, Kind::CSubw, 0)),
                Kind::LdLd => fused_mem!(op, 2, 2, ld64!(op), ld64!(op)),
                Kind::CLdCLd => fused_mem!(op, 1, 1, ld64!(op), ld64!(op)),
                Kind::SdSd => fused_mem!(op, 2, 2, sd64!(op), sd64!(op)),
                Kind::CSdCSd => fused_mem!(op, 1, 1, sd64!(op), sd64!(op)),
                Kind::CAddCLd => fused_mem!(op, 1, 1, pure(x, op, Kind::CAdd, 0), ld64!(op)),
                Kind::CAddCSd => fused_mem!(op, 1, 1, pure(x, op, Kind::CAdd, 0), sd64!(op)),
                Kind::XorCAddFwd => fused_fwd!(op, Xor, CAdd),
                Kind::CSlliSrliFwd => fused_fwd!(op, CSlli, Srli),
                Kind::CAddiCOrFwd => fused_fwd!(op, CAddi, COr),
                Kind::AddwAndFwd => fused_fwd!(op, Addw, And),
                Kind::SlliSrliFwd => fused_fwd!(op, Slli, Srli),
                Kind::CAddiCAddiwFwd => fused_fwd!(op, CAddi, CAddiw),
                Kind::MulAddiFwd => fused_fwd!(op, Mul, Addi),
                Kind::CAddCAddFwd => fused_fwd!(op, CAdd, CAdd),
                Kind::CAddiCAddFwd => fused_fwd!(op, CAddi, CAdd),
                Kind::CMvCMvFwd => fused_fwd!(op, CMv, CMv),
                Kind::CLiCLiFwd => fused_fwd!(op, CLi, CLi),
                Kind::AddiCAddFwd => fused_fwd!(op, Addi, CAdd),
                Kind::AddiAddiFwd => fused_fwd!(op, Addi, Addi),
                Kind::CMvCLiFwd => fused_fwd!(op, CMv, CLi),
                Kind::CLiCMvFwd => fused_fwd!(op, CLi, CMv),
                Kind::CSlliCAddFwd => fused_fwd!(op, CSlli, CAdd),
                Kind::CMvAddiFwd => fused_fwd!(op, CMv, Addi),
                Kind::AuipcAddiFwd => fused_fwd!(op, Auipc, Addi),
                Kind::LiAddiFwd => fused_fwd!(op, Li, Addi),
                Kind::CLiAddiFwd => fused_fwd!(op, CLi, Addi),
                Kind::LiAddiwFwd => fused_fwd!(op, Li, Addiw),
                Kind::CLiCAddiwFwd => fused_fwd!(op, CLi, CAddiw),
                Kind::SlliAddFwd => fused_fwd!(op, Slli, Add),
                Kind::AddiCMvFwd => fused_fwd!(op, Addi, CMv),
                Kind::CMvCAddiFwd => fused_fwd!(op, CMv, CAddi),
                Kind::CAddCAddiFwd => fused_fwd!(op, CAdd, CAddi),
                Kind::CAddiCOrBne => fused_bne!('block, op, CAddi, COr, false),
                Kind::CAddiCOrFwdBne => fused_bne!('block, op, CAddi, COr, true),
                Kind::CAddCAddBne => fused_bne!('block, op, CAdd, CAdd, false),
                Kind::CAddCAddFwdBne => fused_bne!('block, op, CAdd, CAdd, true),
                Kind::CAddiCAddBne => fused_bne!('block, op, CAddi, CAdd, false),
                Kind::CAddiCAddFwdBne => fused_bne!('block, op, CAddi, CAdd, true),
                Kind::XorCAdd => fused!(op, Xor, CAdd),
                Kind::CSlliSrli => fused!(op, CSlli, Srli),
                Kind::CAddiCOr => fused!(op, CAddi, COr),
                Kind::AddwAnd => fused!(op, Addw, And),
                Kind::SlliSrli => fused!(op, Slli, Srli),
                Kind::CAddiCAddiw => fused!(op, CAddi, CAddiw),
                Kind::MulAddi => fused!(op, Mul, Addi),
                Kind::CAddCAdd => fused!(op, CAdd, CAdd),
                Kind::CAddiCAdd => fused!(op, CAddi, CAdd),
                Kind::CMvCMv => fused!(op, CMv, CMv),
                Kind::CLiCLi => fused!(op, CLi, CLi),
                Kind::AddiCAdd => fused!(op, Addi, CAdd),
                Kind::AddiAddi => fused!(op, Addi, Addi),
                Kind::CMvCLi => fused!(op, CMv, CLi),
                Kind::CLiCMv => fused!(op, CLi, CMv),
                Kind::CSlliCAdd => fused!(op, CSlli, CAdd),
                Kind::CMvAddi => fused!(op, CMv, Addi),
                Kind::AuipcAddi => fused!(op, Auipc, Addi),
                Kind::LiAddi => fused!(op, Li, Addi),
                Kind::CLiAddi => fused!(op, CLi, Addi),
                Kind::LiAddiw => fused!(op, Li, Addiw),
                Kind::CLiCAddiw => fused!(op, CLi, CAddiw),
                Kind::SlliAdd => fused!(op, Slli, Add),
                Kind::AddiCMv => fused!(op, Addi, CMv),
                Kind::CMvCAddi => fused!(op, CMv, CAddi),
                Kind::CAddCAddi => fused!(op, CAdd, CAddi),
                Kind::CLw => compressed!(op, {
                    let v = mem!(
                        op,
                        mem.load_u32(r!(op.rs1).wrapping_add(imm!())),
                        TrapKind::LoadFault
                    );
                    r!(op.rd) = sext32(v);
                }),
                Kind::CLd => compressed!(op, ld64!(op)),
                Kind::CSw => compressed!(op, {
                    let a = r!(op.rs1).wrapping_add(imm!());
                    mem!(op, mem.store_u32(a, r!(op.rs2) as u32), TrapKind::StoreFault);
                }),
                Kind::CSd => compressed!(op, sd64!(op)),
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
