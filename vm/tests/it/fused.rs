//! Fused pairs (`fuse::FUSED`): two adjacent instructions run in one dispatch. Random streams
//! of the fused kinds' instructions (4-byte and compressed, any registers, `x0` destinations
//! included, 64-bit loads and stores into a data segment) must end with the same registers and
//! memory as the same stream with a `fence` after every instruction (which no pair fuses
//! across), and retire exactly one instruction per instruction; a jump into the second half of
//! a pair runs that half alone; fuel, traps (in either half) and block cuts see both halves as
//! two instructions. Streams often read the previous instruction's destination, so the
//! forwarding twins (`fuse::FORWARD`) are exercised as much as the plain pairs. Branch tails
//! (`fuse::BRANCH_TAIL`: a pair and the `bne` after it in one dispatch) are checked the same
//! way: against the same ops fence-separated, entered in the middle, with fuel around the
//! group, with a trap at the branch target, and in the `count` kernel's loop.

use proptest::prelude::*;
use shardbox_vm::code::{Code, ExecRange};
use shardbox_vm::fuse::{BRANCH_TAIL, FORWARD, FUSED};
use shardbox_vm::op::Kind;
use shardbox_vm::{Outcome, TrapKind};

use crate::asm::{self, DATA, DATA_BYTES, EBREAK, addi, b, i, j, r, s, u};

const FENCE: u32 = 0x0000_000f;

/// One instruction (2 or 4 bytes) of a kind that is a half of some fused pair, from random
/// numbers: registers anywhere in x0..x31 (x8..x15 for the 3-bit fields), edge immediates.
/// `auipc` reads its own pc, which the separated stream moves, so it has a test of its own.
/// Loads and stores address the data segment through x2, x5 and x8 (set to `DATA`); an
/// instruction that would write one of those is replaced by a `fence`.
fn insn(pick: u32, a: u32, b: u32, c: u32) -> Vec<u8> {
    let one = insn_any(pick, a, b, c);
    let op = code(&one).ops()[0];
    let writes_base = [2, 5, 8].contains(&op.rd) && !matches!(op.kind, Kind::Sd | Kind::CSd);
    if writes_base { FENCE.to_le_bytes().to_vec() } else { one }
}

fn insn_any(pick: u32, a: u32, b: u32, c: u32) -> Vec<u8> {
    let (rd, rs1, rs2) = (a % 32, b % 32, c % 32);
    let nz = |v: u32| if v.is_multiple_of(32) { 1 } else { v % 32 };
    let imm6 = (c % 64) as u16;
    let ci = |f: u16, rd: u32, imm: u16| {
        (f | ((imm >> 5) & 1) << 12 | (rd as u16) << 7 | (imm & 31) << 2).to_le_bytes().to_vec()
    };
    let w = |word: u32| word.to_le_bytes().to_vec();
    let imm12 = [0, 1, -1, 2047, -2048, (c % 4096) as i32 - 2048][(c % 6) as usize];
    let off = (c % (DATA_BYTES as u32 - 8).min(2040)) as i32;
    let (o8, h) = (c % 32 * 8, |v: u32| v as u16);
    match pick % 24 {
        18 => w(i(off, 5, 3, rd, 0x03)),  // ld rd, off(x5)
        19 => w(s(off, rs2, 5, 3, 0x23)), // sd rs2, off(x5)
        // c.ld / c.sd rd', off(x8)
        20 => {
            (0x6000 | h(o8 >> 3 & 7) << 10 | h(o8 >> 6) << 5 | h(a % 8) << 2).to_le_bytes().to_vec()
        }
        21 => {
            (0xe000 | h(o8 >> 3 & 7) << 10 | h(o8 >> 6) << 5 | h(a % 8) << 2).to_le_bytes().to_vec()
        }
        // c.ldsp rd, off(sp) / c.sdsp rs2, off(sp)
        22 => {
            (0x6002 | h(o8 >> 5 & 1) << 12 | h(nz(a)) << 7 | h(o8 >> 3 & 3) << 5 | h(o8 >> 6) << 2)
                .to_le_bytes()
                .to_vec()
        }
        23 => {
            (0xe002 | h(o8 >> 3 & 7) << 10 | h(o8 >> 6) << 7 | h(rs2) << 2).to_le_bytes().to_vec()
        }
        0 => w(r(0, rs2, rs1, 4, rd, 0x33)),          // xor
        1 => w(r(0, rs2, rs1, 0, rd, 0x33)),          // add
        2 => w(r(0, rs2, rs1, 7, rd, 0x33)),          // and
        3 => w(r(0, rs2, rs1, 0, rd, 0x3b)),          // addw
        4 => w(r(1, rs2, rs1, 0, rd, 0x33)),          // mul
        5 => w(i(imm12, rs1, 0, rd, 0x13)),           // addi (li, mv)
        6 => w(i((c % 64) as i32, rs1, 1, rd, 0x13)), // slli
        7 => w(i((c % 64) as i32, rs1, 5, rd, 0x13)), // srli
        8 => w(i(imm12, rs1, 0, rd, 0x1b)),           // addiw
        9 => w(u(c & 0xfffff, rd, 0x37)),             // lui
        10 => w(i(imm12, rs1, 6, rd, 0x13)),          // ori (fuses with nothing)
        11 => ((0x9002 | nz(a) << 7 | nz(c) << 2) as u16).to_le_bytes().to_vec(), // c.add
        12 => ((0x8002 | nz(a) << 7 | nz(c) << 2) as u16).to_le_bytes().to_vec(), // c.mv
        13 => ci(0x4001, rd, imm6),                   // c.li
        14 => ci(0x0001, rd, imm6),                   // c.addi
        15 => ci(0x2001, nz(a), imm6),                // c.addiw
        16 => ci(0x0002, rd, imm6),                   // c.slli
        _ => ((0x8c41 | (a % 8) << 7 | (c % 8) << 2) as u16).to_le_bytes().to_vec(), // c.or
    }
}

/// Runs `text` (ending with `ebreak`) from the start with `x` preset: outcome, registers,
/// instructions retired.
fn run(text: &[u8], x: &[u64; 32], fuel: u64) -> (Outcome, [u64; 32], u64) {
    let (out, regs, retired, _) = run_with_data(text, x, &[], fuel);
    (out, regs, retired)
}

/// [`run`] with `data` at `DATA`; also returns the data segment afterwards.
fn run_with_data(
    text: &[u8],
    x: &[u64; 32],
    data: &[u8],
    fuel: u64,
) -> (Outcome, [u64; 32], u64, Vec<u8>) {
    asm::with_vm(&asm::elf(text, data), |vm| {
        vm.cpu_mut().x[1..32].copy_from_slice(&x[1..]);
        let out = vm.run(fuel, &mut shardbox_vm::NullHost);
        let mut regs = [0u64; 32];
        regs.copy_from_slice(&vm.cpu().x[..32]);
        let mut mem = vec![0u8; DATA_BYTES as usize];
        vm.memory().read_bytes(DATA, &mut mem).expect("data readable");
        (out, regs, vm.instret(), mem)
    })
}

fn code(text: &[u8]) -> Code {
    Code::build(&[ExecRange { vaddr: asm::TEXT, bytes: text }])
}

fn is_fused(kind: Kind) -> bool {
    FUSED.iter().any(|&(_, _, f)| f == kind)
        || FORWARD.iter().any(|&(_, t)| t == kind)
        || BRANCH_TAIL.iter().any(|&(_, t)| t == kind)
}

/// `c.addi rd, imm` (any rd, x0 included).
fn c_addi(rd: u32, imm: u16) -> [u8; 2] {
    (0x0001 | ((imm >> 5) & 1) << 12 | (rd as u16) << 7 | (imm & 31) << 2).to_le_bytes()
}

/// `c.or rd', rs2'` (`x8 + rd`, `x8 + rs2`).
fn c_or(rd: u32, rs2: u32) -> [u8; 2] {
    ((0x8c41 | (rd % 8) << 7 | (rs2 % 8) << 2) as u16).to_le_bytes()
}

/// `bne rs1, rs2, off`.
fn bne(rs1: u32, rs2: u32, off: i32) -> [u8; 4] {
    b(off, rs2, rs1, 1).to_le_bytes()
}

/// The `count` kernel's loop (`vm/guest/tests/kernels.c`, as gcc emits it): xor a2,a4,a5;
/// c.add a3,a2; c.slli a5,1; srli a2,a3,63; c.addi a4,1; c.or a5,a2; bne a0,a4,loop; ebreak.
fn count_loop() -> Vec<u8> {
    [
        r(0, 15, 14, 4, 12, 0x33).to_le_bytes().to_vec(),
        0x96b2u16.to_le_bytes().to_vec(),
        0x0786u16.to_le_bytes().to_vec(),
        i(63, 13, 5, 12, 0x13).to_le_bytes().to_vec(),
        c_addi(14, 1).to_vec(),
        c_or(7, 4).to_vec(),
        bne(10, 14, -16).to_vec(),
        EBREAK.to_le_bytes().to_vec(),
    ]
    .concat()
}

fn stream() -> impl Strategy<Value = Vec<[u32; 4]>> {
    prop::collection::vec(any::<[u32; 4]>(), 1..40)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn fused_streams_match_the_same_streams_run_apart(
        insns in stream(),
        x in prop::array::uniform32(any::<u64>()),
        data in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        let mut x = x;
        (x[2], x[5], x[8]) = (DATA, DATA, DATA);
        let mut fused = Vec::new();
        let mut apart = Vec::new();
        let mut prev_rd = 0;
        for &[p, a, b, c] in &insns {
            // Often read the previous destination (the forwarding twins), as rs1 or rs2.
            let b = if p & 0x100 != 0 { prev_rd } else { b };
            let c = if p & 0x200 != 0 { prev_rd } else { c };
            let one = insn(p, a, b, c);
            prev_rd = u32::from(code(&one).ops()[0].rd % 32);
            fused.extend_from_slice(&one);
            apart.extend_from_slice(&one);
            apart.extend_from_slice(&FENCE.to_le_bytes());
        }
        let n = insns.len() as u64;
        fused.extend_from_slice(&EBREAK.to_le_bytes());
        apart.extend_from_slice(&EBREAK.to_le_bytes());
        let ops = code(&apart);
        prop_assert!(!ops.ops().iter().any(|op| is_fused(op.kind)), "a fence separates every pair");
        let (out_f, regs_f, ret_f, mem_f) = run_with_data(&fused, &x, &data, 10_000);
        let (out_a, regs_a, ret_a, mem_a) = run_with_data(&apart, &x, &data, 10_000);
        prop_assert!(mem_f == mem_a, "data memory differs");
        let end_f = asm::TEXT + fused.len() as u64 - 4;
        let end_a = asm::TEXT + apart.len() as u64 - 4;
        prop_assert_eq!(out_f, Outcome::Trap { kind: TrapKind::Breakpoint, pc: end_f });
        prop_assert_eq!(out_a, Outcome::Trap { kind: TrapKind::Breakpoint, pc: end_a });
        prop_assert_eq!(regs_f, regs_a);
        prop_assert_eq!(regs_f[0], 0);
        prop_assert_eq!(ret_f, n);
        prop_assert_eq!(ret_a, 2 * n);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    /// `c.addi`/`c.add`, then `c.or`/`c.add`, then `bne +8; addi a0,a0,1; ebreak`, against
    /// the same ops with a fence after each (the `bne` then skips its fence, the `addi` and
    /// its fence): every pair shape of `fuse::BRANCH_TAIL` and one that is no pair, any
    /// registers (`x0` included), the second op often reading the first's result (the
    /// forwarding twins), the `bne` often reading the pair's results or one register twice.
    #[test]
    fn branch_tails_match_the_same_ops_run_apart(
        picks in any::<[u32; 8]>(),
        imm in 0u16..64,
        x in prop::array::uniform32(any::<u64>()),
    ) {
        let [p, a, o1, o2, b1, b2, s1, s2] = picks;
        let nz = |v: u32| if v.is_multiple_of(32) { 1 } else { v % 32 };
        let c_add = |rd: u32, rs2: u32| ((0x9002 | rd << 7 | rs2 << 2) as u16).to_le_bytes();
        // First: c.addi rd, imm or c.add rd, rs2 (rd often one the second op reads).
        let rd = match p & 3 {
            0 => 8 + o1 % 8,
            1 => 8 + o2 % 8,
            _ => a % 32,
        };
        let first_add = p & 4 != 0;
        let first = if first_add { c_add(rd, nz(s1)) } else { c_addi(rd, imm) };
        let first_real = rd != 0 && (first_add || imm != 0);
        // Second: c.or rd', rs2' or c.add rd, rs2 (reading the first's result when rd is).
        let second_add = p & 8 != 0;
        let (second, reads) = if second_add {
            let (d, t) = if p & 16 != 0 { (rd.max(1), nz(s2)) } else { (nz(s2), nz(o1)) };
            (c_add(d, t), [d, t])
        } else {
            (c_or(o1, o2), [8 + o1 % 8, 8 + o2 % 8])
        };
        let b1 = if p & 32 != 0 { reads[0] } else { b1 % 32 };
        let b2 = match (p >> 6) & 3 {
            0 => b1,
            1 => rd,
            _ => b2 % 32,
        };
        let br = |off| bne(b1, b2, off);
        let tail = addi(10, 10, 1).to_le_bytes();
        let (fence, ebreak) = (FENCE.to_le_bytes(), EBREAK.to_le_bytes());
        let fused = [&first[..], &second, &br(8), &tail, &ebreak].concat();
        let apart =
            [&first[..], &fence, &second, &fence, &br(16), &fence, &tail, &fence, &ebreak].concat();
        let kind = code(&fused).ops()[0].kind;
        if first_real {
            // c.or and c.add are commutative: either operand may be the forwarded one.
            let fwd = reads.contains(&rd);
            let want = match (first_add, second_add, fwd) {
                (false, false, false) => Some(Kind::CAddiCOrBne),
                (false, false, true) => Some(Kind::CAddiCOrFwdBne),
                (false, true, false) => Some(Kind::CAddiCAddBne),
                (false, true, true) => Some(Kind::CAddiCAddFwdBne),
                (true, true, false) => Some(Kind::CAddCAddBne),
                (true, true, true) => Some(Kind::CAddCAddFwdBne),
                (true, false, _) => None,
            };
            match want {
                Some(want) => prop_assert_eq!(kind, want),
                None => prop_assert_eq!(kind, Kind::CAdd, "c.add + c.or is no pair"),
            }
        }
        prop_assert!(!code(&apart).ops().iter().any(|op| is_fused(op.kind)));
        let (out_f, regs_f, ret_f) = run(&fused, &x, 100);
        let (out_a, regs_a, ret_a) = run(&apart, &x, 100);
        prop_assert_eq!(out_f, Outcome::Trap { kind: TrapKind::Breakpoint, pc: asm::TEXT + 12 });
        prop_assert_eq!(out_a, Outcome::Trap { kind: TrapKind::Breakpoint, pc: asm::TEXT + 28 });
        prop_assert_eq!(regs_f, regs_a);
        prop_assert_eq!(regs_f[0], 0);
        prop_assert!(matches!((ret_f, ret_a), (3, 5) | (4, 8)), "{} {}", ret_f, ret_a);
        if b1 == b2 {
            prop_assert_eq!((ret_f, ret_a), (4, 8), "bne x, x is never taken");
        }
    }
}

#[test]
fn the_count_loop_closes_in_one_dispatch_per_pair() {
    let text = count_loop();
    let c = code(&text);
    let kinds: Vec<Kind> = c.ops().iter().take(10).map(|op| op.kind).collect();
    assert_eq!((kinds[0], kinds[3]), (Kind::XorCAddFwd, Kind::CSlliSrli));
    assert_eq!(kinds[6], Kind::CAddiCOrBne, "c.addi, c.or and bne in one dispatch");
    assert_eq!((kinds[7], kinds[8]), (Kind::COr, Kind::Bne), "both keep their own decode");
    let n = 37u64;
    let (mut xv, mut yv) = (0u64, 1u64);
    for k in 0..n {
        xv = xv.wrapping_add(yv ^ k);
        yv = (yv << 1) | (xv >> 63);
    }
    let mut x = [0u64; 32];
    (x[10], x[13], x[14], x[15]) = (n, 0, 0, 1);
    let end = asm::TEXT + 20;
    let (out, regs, retired) = run(&text, &x, 7 * n + 1);
    assert_eq!(out, Outcome::Trap { kind: TrapKind::Breakpoint, pc: end });
    assert_eq!((regs[13], regs[15], regs[14], retired), (xv, yv, n, 7 * n));
    // Fuel: the loop body is one block of seven, charged at each turn's entry.
    let (out, regs, retired) = run(&text, &x, 7 * n);
    assert_eq!(out, Outcome::OutOfFuel { pc: end });
    assert_eq!((regs[14], retired), (n, 7 * n));
    let (out, regs, retired) = run(&text, &x, 7 * n - 1);
    assert_eq!(out, Outcome::OutOfFuel { pc: asm::TEXT });
    assert_eq!((regs[14], retired), (n - 1, 7 * (n - 1)));
}

#[test]
fn a_jump_into_a_branch_tail_runs_the_rest_alone() {
    // j <to>; c.addi a4,1; c.or a5,a2; bne a0,a4,+8; addi a1,a1,1; ebreak.
    let body = [&c_addi(14, 1)[..], &c_or(7, 4), &bne(10, 14, 8), &addi(11, 11, 1).to_le_bytes()];
    let ebreak = EBREAK.to_le_bytes();
    let mut x = [0u64; 32];
    (x[12], x[15]) = (6, 1);
    // Entered at the c.addi: all three run, the branch is taken past the addi.
    let text = [&body.concat()[..], &ebreak].concat();
    assert_eq!(code(&text).ops()[0].kind, Kind::CAddiCOrBne);
    let (out, regs, retired) = run(&text, &x, 100);
    assert_eq!(out, Outcome::Trap { kind: TrapKind::Breakpoint, pc: asm::TEXT + 12 });
    assert_eq!((regs[14], regs[15], regs[11], retired), (1, 7, 0, 3));
    // Jumped to the c.or: a4 stays 0, so the bne falls through to the addi.
    let text = [&j(6, 0).to_le_bytes()[..], &body.concat(), &ebreak].concat();
    assert_eq!(code(&text).ops()[2].kind, Kind::CAddiCOrBne);
    let (out, regs, retired) = run(&text, &x, 100);
    assert_eq!(out, Outcome::Trap { kind: TrapKind::Breakpoint, pc: asm::TEXT + 16 });
    assert_eq!((regs[14], regs[15], regs[11], retired), (0, 7, 1, 4));
    // Jumped to the bne: only it and the addi run.
    let text = [&j(8, 0).to_le_bytes()[..], &body.concat(), &ebreak].concat();
    let (out, regs, retired) = run(&text, &x, 100);
    assert_eq!(out, Outcome::Trap { kind: TrapKind::Breakpoint, pc: asm::TEXT + 16 });
    assert_eq!((regs[14], regs[15], regs[11], retired), (0, 1, 1, 3));
}

#[test]
fn a_branch_tail_to_no_code_traps_at_the_target_with_all_three_retired() {
    // c.addi a4,1; c.or a5,a2; bne a0,a4,+0x800: taken to an address with no code.
    let text =
        [&c_addi(14, 1)[..], &c_or(7, 4), &bne(10, 14, 0x800), &EBREAK.to_le_bytes()].concat();
    assert_eq!(code(&text).ops()[0].kind, Kind::CAddiCOrBne);
    let mut x = [0u64; 32];
    (x[12], x[15]) = (6, 1);
    let (out, regs, retired) = run(&text, &x, 100);
    assert_eq!(out, Outcome::Trap { kind: TrapKind::FetchFault, pc: asm::TEXT + 4 + 0x800 });
    assert_eq!((regs[14], regs[15], retired), (1, 7, 3));
    // Fuel one short of the group's block: nothing runs.
    let (out, regs, retired) = run(&text, &x, 2);
    assert_eq!(out, Outcome::OutOfFuel { pc: asm::TEXT });
    assert_eq!((regs[14], regs[15], retired), (0, 1, 0));
}

#[test]
fn generated_streams_do_fuse() {
    // xor a2,a4,a5; c.add a3,a2; c.slli a5,1; srli a2,a3,63; c.addi a4,1; c.or a5,a2 (the
    // `count` kernel's loop body): three pairs.
    let mut text = Vec::new();
    text.extend_from_slice(&r(0, 15, 14, 4, 12, 0x33).to_le_bytes());
    text.extend_from_slice(&0x96b2u16.to_le_bytes());
    text.extend_from_slice(&0x0786u16.to_le_bytes());
    text.extend_from_slice(&i(63, 13, 5, 12, 0x13).to_le_bytes());
    text.extend_from_slice(&0x0705u16.to_le_bytes());
    text.extend_from_slice(&0x8fd1u16.to_le_bytes());
    text.extend_from_slice(&EBREAK.to_le_bytes());
    let c = code(&text);
    let kinds: Vec<Kind> = c.ops().iter().take(9).map(|op| op.kind).collect();
    // c.add a3, a2 reads xor's a2 as rs2: commutative, so the packed copy swaps it to rs1
    // and the pair forwards.
    assert_eq!(kinds[0], Kind::XorCAddFwd);
    assert_eq!(kinds[2], Kind::CAdd, "the second half keeps its own decode");
    assert_eq!(kinds[3], Kind::CSlliSrli);
    assert_eq!(kinds[4], Kind::Srli);
    assert_eq!(kinds[6], Kind::CAddiCOr);
    assert_eq!(kinds[7], Kind::COr);
    let mut x = [0u64; 32];
    (x[13], x[14], x[15]) = (u64::MAX, 7, 1 << 63);
    let (out, regs, retired) = run(&text, &x, 100);
    assert_eq!(out, Outcome::Trap { kind: TrapKind::Breakpoint, pc: asm::TEXT + 16 });
    assert_eq!(retired, 6);
    let a2 = 7 ^ (1u64 << 63);
    let a3 = u64::MAX.wrapping_add(a2);
    assert_eq!((regs[12], regs[13], regs[14], regs[15]), (a3 >> 63, a3, 8, (a3 >> 63)));
}

#[test]
fn a_jump_into_the_second_half_runs_it_alone() {
    // j +8; addi a0,a0,1; addi a1,a0,5; ebreak — and a branch back into the second half.
    let text = asm::words(&[j(8, 0), addi(10, 10, 1), addi(11, 10, 5), EBREAK]);
    let c = code(&text);
    assert_eq!(c.ops()[2].kind, Kind::AddiAddiFwd);
    assert_eq!(c.ops()[4].kind, Kind::Addi);
    let mut x = [0u64; 32];
    x[10] = 100;
    let (out, regs, retired) = run(&text, &x, 100);
    assert_eq!(out, Outcome::Trap { kind: TrapKind::Breakpoint, pc: asm::TEXT + 12 });
    assert_eq!((regs[10], regs[11], retired), (100, 105, 2));
    // Entered at the pair itself, both halves run.
    let text = asm::words(&[addi(10, 10, 1), addi(11, 10, 5), EBREAK]);
    let (_, regs, retired) = run(&text, &x, 100);
    assert_eq!((regs[10], regs[11], retired), (101, 106, 2));
}

#[test]
fn fuel_counts_both_halves_of_a_pair() {
    // addi a0,a0,1; addi a1,a0,5; addi a2,a1,1; ebreak: one block of four (ebreak included).
    let text = asm::words(&[addi(10, 10, 1), addi(11, 10, 5), addi(12, 11, 1), EBREAK]);
    assert_eq!(code(&text).ops()[0].kind, Kind::AddiAddiFwd);
    let x = [0u64; 32];
    for fuel in 0..4 {
        let (out, regs, retired) = run(&text, &x, fuel);
        assert_eq!(out, Outcome::OutOfFuel { pc: asm::TEXT }, "fuel {fuel}");
        assert_eq!((regs[10], regs[11], retired), (0, 0, 0), "fuel {fuel}");
    }
    let (out, regs, retired) = run(&text, &x, 4);
    assert_eq!(out, Outcome::Trap { kind: TrapKind::Breakpoint, pc: asm::TEXT + 12 });
    assert_eq!((regs[10], regs[11], regs[12], retired), (1, 6, 7, 3));
}

#[test]
fn a_trap_after_a_pair_reports_its_own_pc_and_counts_the_pair() {
    // addi a0,a0,1; addi a1,a0,5; ld a2, 0(x0): the load faults.
    let ld = i(0, 0, 3, 12, 0x03);
    let text = asm::words(&[addi(10, 10, 1), addi(11, 10, 5), ld, EBREAK]);
    let (out, regs, retired) = run(&text, &[0; 32], 100);
    assert_eq!(out, Outcome::Trap { kind: TrapKind::LoadFault(0), pc: asm::TEXT + 8 });
    assert_eq!((regs[10], regs[11], retired), (1, 6, 2));
}

#[test]
fn pairs_never_cross_a_block_cut() {
    // 601 fusable addis in a row: the run is cut every BLOCK_INSNS_MAX instructions.
    let mut ws = vec![addi(10, 10, 1); 601];
    ws.push(EBREAK);
    let text = asm::words(&ws);
    let c = code(&text);
    let ops = c.ops();
    let mut pairs = 0;
    for (k, op) in ops.iter().enumerate() {
        if is_fused(op.kind) {
            pairs += 1;
            assert_ne!(ops[k + 2].kind, Kind::Split, "pair at {k} crosses a cut");
        }
    }
    assert!(pairs >= 590, "{pairs} pairs");
    assert!(!c.splits().is_empty());
    let (out, regs, retired) = run(&text, &[0; 32], 10_000);
    assert_eq!(out, Outcome::Trap { kind: TrapKind::Breakpoint, pc: asm::TEXT + 4 * 601 });
    assert_eq!((regs[10], retired), (601, 601));
    // Fuel one short of the whole run stops at a block entry, never inside a pair.
    let (out, regs, retired) = run(&text, &[0; 32], 600);
    assert!(matches!(out, Outcome::OutOfFuel { .. }), "{out:?}");
    assert_eq!(regs[10], retired);
    assert!(retired < 601);
}

#[test]
fn auipc_pairs_read_their_own_pc() {
    // nop; auipc a0, 0x12345; addi a0, a0, -1; auipc a1, 1; addi a2, a1, 16
    let text = asm::words(&[
        FENCE,
        u(0x12345, 10, 0x17),
        addi(10, 10, -1),
        u(1, 11, 0x17),
        addi(12, 11, 16),
        EBREAK,
    ]);
    let c = code(&text);
    assert_eq!((c.ops()[2].kind, c.ops()[6].kind), (Kind::AuipcAddiFwd, Kind::AuipcAddiFwd));
    let (out, regs, retired) = run(&text, &[0; 32], 100);
    assert_eq!(out, Outcome::Trap { kind: TrapKind::Breakpoint, pc: asm::TEXT + 20 });
    assert_eq!(regs[10], asm::TEXT + 4 + 0x1234_5000 - 1);
    assert_eq!((regs[11], regs[12]), (asm::TEXT + 12 + 0x1000, asm::TEXT + 12 + 0x1010));
    assert_eq!(retired, 5);
}

#[test]
fn a_trap_in_either_half_of_a_memory_pair_is_exact() {
    let ld = |rd, rs1, off| i(off, rs1, 3, rd, 0x03);
    let sd = |rs2, rs1, off| s(off, rs2, rs1, 3, 0x23);
    let mut x = [0u64; 32];
    (x[5], x[6], x[7]) = (DATA, 0x1111, 0x2222);
    let data: Vec<u8> = (0..16).collect();
    let first = u64::from_le_bytes([0, 1, 2, 3, 4, 5, 6, 7]);
    // ld a0, 0(x5); ld a1, 0(x0): the second half faults.
    let text = asm::words(&[ld(10, 5, 0), ld(11, 0, 0), EBREAK]);
    assert_eq!(code(&text).ops()[0].kind, Kind::LdLd);
    let (out, regs, retired, _) = run_with_data(&text, &x, &data, 100);
    assert_eq!(out, Outcome::Trap { kind: TrapKind::LoadFault(0), pc: asm::TEXT + 4 });
    assert_eq!((regs[10], regs[11], retired), (first, 0, 1));
    // ld a0, 0(x0); ld a1, 0(x5): the first half faults, the second never runs.
    let text = asm::words(&[ld(10, 0, 0), ld(11, 5, 0), EBREAK]);
    let (out, regs, retired, _) = run_with_data(&text, &x, &data, 100);
    assert_eq!(out, Outcome::Trap { kind: TrapKind::LoadFault(0), pc: asm::TEXT });
    assert_eq!((regs[10], regs[11], retired), (0, 0, 0));
    // sd t1, 8(x5); sd t2, 0(x0): the first store lands, the second faults.
    let text = asm::words(&[sd(6, 5, 8), sd(7, 0, 0), EBREAK]);
    assert_eq!(code(&text).ops()[0].kind, Kind::SdSd);
    let (out, _, retired, mem) = run_with_data(&text, &x, &data, 100);
    assert_eq!(out, Outcome::Trap { kind: TrapKind::StoreFault(0), pc: asm::TEXT + 4 });
    assert_eq!((u64::from_le_bytes(mem[8..16].try_into().unwrap()), retired), (0x1111, 1));
    // c.add s0, a5; c.ld a0, 0(s0) with s0 + a5 unmapped: the add retires, the load faults.
    let text = [0x943eu16.to_le_bytes(), 0x6008u16.to_le_bytes()].concat();
    let text = [text, EBREAK.to_le_bytes().to_vec()].concat();
    assert_eq!(code(&text).ops()[0].kind, Kind::CAddCLd);
    let mut y = x;
    (y[8], y[15]) = (0x10, 0x20);
    let (out, regs, retired, _) = run_with_data(&text, &y, &data, 100);
    assert_eq!(out, Outcome::Trap { kind: TrapKind::LoadFault(0x30), pc: asm::TEXT + 2 });
    assert_eq!((regs[8], regs[10], retired), (0x30, 0, 1));
    // Fuel: the pair's block (two loads and the ebreak) needs three.
    let text = asm::words(&[ld(10, 5, 0), ld(11, 5, 8), EBREAK]);
    let (out, _, retired, _) = run_with_data(&text, &x, &data, 2);
    assert_eq!((out, retired), (Outcome::OutOfFuel { pc: asm::TEXT }, 0));
    let (out, regs, retired, _) = run_with_data(&text, &x, &data, 3);
    assert_eq!(out, Outcome::Trap { kind: TrapKind::Breakpoint, pc: asm::TEXT + 8 });
    assert_eq!((regs[10], retired), (first, 2));
}
