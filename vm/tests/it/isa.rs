//! Per-instruction tests with edge values written from the unprivileged spec: sign extension,
//! overflow, division by zero, shifts by 63/64 and W-shifts by 31/32, `x0` as destination for
//! every rd-writing class, RVC expansions (checked against GNU as) including reserved ones,
//! AMOs, LR/SC pairs and failures, CSRs, traps.

use shardbox_vm::{Outcome, TrapKind, decode, op::Kind, rvc};

use crate::asm::{self, DATA, EBREAK, ECALL, addi, b, i, j, r, run_words, s, u};

const BREAK: Outcome = Outcome::Trap { kind: TrapKind::Breakpoint, pc: 0 };

/// Runs `insn` (rd = x3, rs1 = x1, rs2 = x2) with x1 = a, x2 = b; returns x3.
fn exec(insn: u32, a: u64, b_: u64) -> u64 {
    let (out, x) = run_words(&[insn, EBREAK], &[(1, a), (2, b_)], 1000);
    assert_eq!(
        out,
        Outcome::Trap { kind: TrapKind::Breakpoint, pc: asm::TEXT + 4 },
        "{insn:#010x}"
    );
    x[3]
}

fn op(f7: u32, f3: u32) -> u32 {
    r(f7, 2, 1, f3, 3, 0x33)
}
fn op32(f7: u32, f3: u32) -> u32 {
    r(f7, 2, 1, f3, 3, 0x3b)
}

const MIN: u64 = i64::MIN as u64;
const MAX: u64 = u64::MAX;
const fn sx(v: i64) -> u64 {
    v as u64
}

#[test]
fn rv64i_register_ops() {
    let cases: &[(u32, u64, u64, u64, &str)] = &[
        (op(0, 0), i64::MAX as u64, 1, MIN, "add overflows"),
        (op(0x20, 0), 0, 1, MAX, "sub wraps"),
        (op(0, 1), 1, 63, 1 << 63, "sll 63"),
        (op(0, 1), 1, 64, 1, "sll 64 uses 6 bits"),
        (op(0, 1), 1, 65, 2, "sll 65"),
        (op(0, 5), 1 << 63, 63, 1, "srl 63"),
        (op(0, 5), 1 << 63, 64, 1 << 63, "srl 64"),
        (op(0x20, 5), MIN, 63, MAX, "sra 63"),
        (op(0x20, 5), MIN, 64, MIN, "sra 64"),
        (op(0, 2), MAX, 0, 1, "slt -1 < 0"),
        (op(0, 3), MAX, 0, 0, "sltu max < 0"),
        (op(0, 4), 0xf0, 0xff, 0x0f, "xor"),
        (op(0, 6), 0xf0, 0x0f, 0xff, "or"),
        (op(0, 7), 0xf0, 0x3c, 0x30, "and"),
        (op32(0, 0), 0x7fff_ffff, 1, sx(-0x8000_0000), "addw sign-extends"),
        (op32(0, 0), 0xffff_ffff_0000_0001, 0, 1, "addw ignores upper bits"),
        (op32(0x20, 0), 0, 1, MAX, "subw"),
        (op32(0, 1), 1, 31, sx(-0x8000_0000), "sllw 31"),
        (op32(0, 1), 1, 32, 1, "sllw 32 uses 5 bits"),
        (op32(0, 5), 0x8000_0000, 31, 1, "srlw 31"),
        (op32(0, 5), 0x8000_0000, 32, sx(-0x8000_0000), "srlw 32"),
        (op32(0x20, 5), 0x8000_0000, 31, MAX, "sraw 31"),
        (op32(0x20, 5), 0x8000_0000, 32, sx(-0x8000_0000), "sraw 32"),
    ];
    for &(insn, a, b_, want, what) in cases {
        assert_eq!(exec(insn, a, b_), want, "{what}");
    }
}

#[test]
fn rv64m_edge_values() {
    let cases: &[(u32, u64, u64, u64, &str)] = &[
        (op(1, 0), MAX, MAX, 1, "mul -1*-1"),
        (op(1, 1), MAX, MAX, 0, "mulh -1*-1"),
        (op(1, 1), MIN, MIN, 1 << 62, "mulh min*min"),
        (op(1, 2), MAX, MAX, MAX, "mulhsu -1*(2^64-1)"),
        (op(1, 2), MAX, 1, MAX, "mulhsu -1*1"),
        (op(1, 3), MAX, MAX, MAX - 1, "mulhu"),
        (op(1, 4), 7, 0, MAX, "div by zero = -1"),
        (op(1, 4), MIN, MAX, MIN, "div overflow"),
        (op(1, 4), sx(-7), 2, sx(-3), "div truncates"),
        (op(1, 5), 7, 0, MAX, "divu by zero"),
        (op(1, 6), 7, 0, 7, "rem by zero = dividend"),
        (op(1, 6), MIN, MAX, 0, "rem overflow = 0"),
        (op(1, 6), sx(-7), 2, sx(-1), "rem sign of dividend"),
        (op(1, 7), 7, 0, 7, "remu by zero"),
        (op32(1, 0), 0x10000, 0x10000, 0, "mulw truncates"),
        (op32(1, 0), 0x7fff_ffff, 2, sx(-2), "mulw sign-extends"),
        (op32(1, 4), 5, 0, MAX, "divw by zero"),
        (op32(1, 4), 0x8000_0000, MAX, sx(-0x8000_0000), "divw overflow"),
        (op32(1, 5), 5, 0, MAX, "divuw by zero"),
        (op32(1, 5), 0x8000_0000, 1, sx(-0x8000_0000), "divuw sign-extends"),
        (op32(1, 6), 0x8000_0000, MAX, 0, "remw overflow"),
        (op32(1, 6), 0x1_8000_0000, 0, sx(-0x8000_0000), "remw by zero = sext dividend"),
        (op32(1, 7), 0xffff_ffff, 0, MAX, "remuw by zero = sext dividend"),
        (op32(1, 7), 7, 0, 7, "remuw by zero"),
    ];
    for &(insn, a, b_, want, what) in cases {
        assert_eq!(exec(insn, a, b_), want, "{what}");
    }
}

#[test]
fn immediates_and_upper() {
    assert_eq!(exec(i(-1, 1, 0, 3, 0x13), 0, 0), MAX, "addi -1");
    assert_eq!(exec(i(-1, 1, 3, 3, 0x13), 5, 0), 1, "sltiu x < max");
    assert_eq!(exec(i(63, 1, 1, 3, 0x13), 1, 0), 1 << 63, "slli 63");
    assert_eq!(exec(i(0x400 | 63, 1, 5, 3, 0x13), MIN, 0), MAX, "srai 63");
    assert_eq!(exec(i(1, 1, 0, 3, 0x1b), 0x7fff_ffff, 0), sx(-0x8000_0000), "addiw");
    assert_eq!(exec(i(31, 1, 1, 3, 0x1b), 1, 0), sx(-0x8000_0000), "slliw 31");
    assert_eq!(exec(i(0x400 | 31, 1, 5, 3, 0x1b), 0x8000_0000, 0), MAX, "sraiw 31");
    assert_eq!(exec(u(0x80000, 3, 0x37), 0, 0), sx(-0x8000_0000), "lui sign-extends");
    assert_eq!(exec(u(0xfffff, 3, 0x17), 0, 0), asm::TEXT - 0x1000, "auipc");
    // slliw with shamt[5] set is reserved.
    let (out, _) = run_words(&[i(32, 1, 1, 3, 0x1b)], &[], 100);
    assert!(matches!(out, Outcome::Trap { kind: TrapKind::IllegalInstruction(_), .. }), "{out:?}");
}

/// Every class that writes rd, with rd = x0: x0 stays zero and nothing else changes.
#[test]
fn x0_is_never_written() {
    let data = DATA as i64;
    let setup = [u((DATA >> 12) as u32, 5, 0x37)]; // x5 = DATA
    let classes: Vec<(u32, &str)> = vec![
        (op(0, 0), "add"),
        (op(1, 4), "div"),
        (op32(0, 0), "addw"),
        (op32(1, 0), "mulw"),
        (i(7, 1, 0, 0, 0x13), "addi"),
        (i(7, 1, 0, 0, 0x1b), "addiw"),
        (i(3, 1, 1, 0, 0x1b), "slliw"),
        (u(0x12345, 0, 0x37), "lui"),
        (u(0x12345, 0, 0x17), "auipc"),
        (i(0, 5, 3, 0, 0x03), "ld"),
        (i(0, 5, 2, 0, 0x03), "lw"),
        (i(0xc02, 0, 2, 0, 0x73), "csrrs instret"),
        (i(0x001, 0, 2, 0, 0x73), "frflags"),
        (r(0x00, 2, 5, 3, 0, 0x2f), "amoadd.d"),
        (r(0x02, 0, 5, 2, 0, 0x2f), "lr.w"),
        (r(0x50, 0, 0, 2, 0, 0x53), "feq.s"),
        (r(0x70, 0, 0, 1, 0, 0x53), "fclass.s"),
        (j(4, 0), "jal"),
    ];
    for (insn, what) in classes {
        let mut code = setup.to_vec();
        code.push(insn);
        code.push(EBREAK);
        let (out, x) = run_words(&code, &[(1, 41), (2, 3)], 100);
        assert!(matches!(out, Outcome::Trap { kind: TrapKind::Breakpoint, .. }), "{what}: {out:?}");
        assert_eq!(x[0], 0, "{what} wrote x0");
        assert_eq!((x[1], x[2], x[5] as i64), (41, 3, data), "{what} changed another register");
    }
    // jalr x0 and a load into x0 from an unmapped address still fault.
    let (out, x) = run_words(&[i(0, 0, 3, 0, 0x03)], &[], 100);
    assert_eq!(out, Outcome::Trap { kind: TrapKind::LoadFault(0), pc: asm::TEXT }, "ld x0, 0(x0)");
    assert_eq!(x[0], 0);
}

#[test]
fn loads_stores_and_misalignment() {
    let code = [
        u((DATA >> 12) as u32, 5, 0x37),
        s(3, 1, 5, 3, 0x23), // sd x1, 3(x5): misaligned store works
        i(3, 5, 3, 3, 0x03), // ld x3, 3(x5)
        i(3, 5, 0, 4, 0x03), // lb x4, 3(x5): sign-extends 0x80
        i(3, 5, 4, 6, 0x03), // lbu x6
        i(4, 5, 1, 7, 0x03), // lh x7, 4(x5)
        i(5, 5, 6, 8, 0x03), // lwu x8, 5(x5)
        i(4095 - 4096 + 1 - 1, 0, 2, 9, 0x03), // lw x9, -1(x0): wraps to the top: faults
    ];
    let (out, x) = run_words(&code, &[(1, 0x8899_aabb_ccdd_ee80)], 100);
    assert_eq!(x[3], 0x8899_aabb_ccdd_ee80);
    assert_eq!(x[4], sx(-128));
    assert_eq!(x[6], 0x80);
    assert_eq!(x[7], sx(0xffff_ffff_ffff_ddee_u64 as i64));
    assert_eq!(x[8], 0xaabb_ccdd);
    assert_eq!(out, Outcome::Trap { kind: TrapKind::LoadFault(u64::MAX), pc: asm::TEXT + 28 });
    // Stores to code (read-only) fault; loads from it work.
    let (out, x) =
        run_words(&[u(0x10, 5, 0x37), i(0, 5, 2, 6, 0x03), s(0, 6, 5, 2, 0x23)], &[], 100);
    assert_eq!(x[6], u64::from(u(0x10, 5, 0x37)));
    assert_eq!(out, Outcome::Trap { kind: TrapKind::StoreFault(asm::TEXT), pc: asm::TEXT + 8 });
}

#[test]
fn amo_and_lr_sc() {
    let base = u((DATA >> 12) as u32, 5, 0x37);
    let amo = |f5: u32, f3: u32, rd: u32| r(f5 << 2 | 1, 2, 5, f3, rd, 0x2f); // aq set: accepted
    // memory starts 0: amoadd.w x3 = old(0); mem = x2; amomax.w with negative; amoswap.d.
    let code = [
        base,
        s(0, 1, 5, 2, 0x23),  // sw x1 -> [x5]
        amo(0x00, 2, 3),      // amoadd.w x3, x2, (x5)
        i(0, 5, 2, 4, 0x03),  // lw x4
        amo(0x14, 2, 6),      // amomax.w x6
        i(0, 5, 2, 7, 0x03),  // lw x7
        amo(0x18, 2, 8),      // amominu.w x8
        amo(0x01, 3, 9),      // amoswap.d x9
        i(0, 5, 3, 10, 0x03), // ld x10
        EBREAK,
    ];
    let (out, x) = run_words(&code, &[(1, 0xffff_fff0), (2, 5)], 100);
    assert!(matches!(out, Outcome::Trap { kind: TrapKind::Breakpoint, .. }));
    assert_eq!(x[3], sx(-16), "amoadd.w returns the sign-extended old value");
    assert_eq!(x[4], sx(-11));
    assert_eq!(x[6], sx(-11));
    assert_eq!(x[7], 5, "max(-11, 5)");
    assert_eq!(x[8], 5);
    assert_eq!(x[9], 5, "amoswap.d old: minu(5,5) left 5 in the low word, 0 above");
    assert_eq!(x[10], 5);
    // LR/SC: a pair succeeds (rd = 0); a second SC fails (rd = 1); SC to another address fails.
    let lr = |f3: u32, rd: u32| r(0x02 << 2, 0, 5, f3, rd, 0x2f);
    let sc = |f3: u32, rd: u32, rs1: u32| r(0x03 << 2 | 1, 2, rs1, f3, rd, 0x2f);
    let code = [
        base,
        addi(6, 5, 8),
        lr(3, 3),
        sc(3, 4, 5), // succeeds
        sc(3, 7, 5), // reservation gone: fails
        lr(2, 3),
        sc(2, 8, 6),          // other address: fails, nothing stored
        i(0, 5, 3, 9, 0x03),  // ld x9 = stored by the first sc
        i(0, 6, 3, 10, 0x03), // ld x10 = 0
        EBREAK,
    ];
    let (out, x) = run_words(&code, &[(2, 77)], 100);
    assert!(matches!(out, Outcome::Trap { kind: TrapKind::Breakpoint, .. }));
    assert_eq!((x[4], x[7], x[8], x[9], x[10]), (0, 1, 1, 77, 0));
    // Misaligned atomics trap.
    let (out, _) = run_words(&[base, addi(5, 5, 4), amo(0x00, 3, 3)], &[], 100);
    assert_eq!(
        out,
        Outcome::Trap { kind: TrapKind::MisalignedAtomic(DATA + 4), pc: asm::TEXT + 8 }
    );
}

#[test]
fn csrs_and_counters() {
    // instret counts the instructions before it, exactly, mid-block.
    let code =
        [addi(1, 0, 1), addi(1, 1, 1), i(0xc02, 0, 2, 3, 0x73), i(0xc00, 0, 2, 4, 0x73), EBREAK];
    let (_, x) = run_words(&code, &[], 100);
    assert_eq!((x[3], x[4]), (2, 3));
    // Writing a counter is illegal; fcsr fields alias.
    let (out, _) = run_words(&[i(0xc00, 1, 1, 0, 0x73)], &[(1, 1)], 100);
    assert!(matches!(out, Outcome::Trap { kind: TrapKind::IllegalInstruction(_), .. }));
    let code = [i(0x003, 1, 1, 0, 0x73), i(0x002, 0, 2, 3, 0x73), i(0x001, 0, 2, 4, 0x73), EBREAK];
    let (_, x) = run_words(&code, &[(1, 0x7f)], 100);
    assert_eq!((x[3], x[4]), (3, 0x1f));
    let (out, _) = run_words(&[i(0x7c0, 0, 2, 3, 0x73)], &[], 100);
    assert!(
        matches!(out, Outcome::Trap { kind: TrapKind::IllegalInstruction(_), .. }),
        "unknown CSR"
    );
}

#[test]
fn control_flow_and_traps() {
    // jal/jalr link; branches both ways; a jalr to unmapped code is a fetch fault at the target.
    let code = [
        j(8, 1),       // jal ra, +8
        EBREAK,        // skipped
        b(8, 0, 2, 1), // bne x2, x0, +8 (taken: x2 = 1)
        EBREAK,
        b(-16, 0, 0, 1),     // bne x0, x0 (not taken)
        i(0, 7, 0, 3, 0x67), // jalr x3, 0(x7)
    ];
    let (out, x) = run_words(&code, &[(2, 1), (7, 0x1234_5678)], 100);
    assert_eq!(x[1], asm::TEXT + 4);
    assert_eq!(x[3], asm::TEXT + 24);
    assert_eq!(out, Outcome::Trap { kind: TrapKind::FetchFault, pc: 0x1234_5678 });
    // Running off the end of the code is a fetch fault; an illegal word traps with its bits.
    let (out, _) = run_words(&[addi(1, 0, 1)], &[], 100);
    assert_eq!(out, Outcome::Trap { kind: TrapKind::FetchFault, pc: asm::TEXT + 4 });
    let (out, _) = run_words(&[0xffff_ffff], &[], 100);
    assert_eq!(
        out,
        Outcome::Trap { kind: TrapKind::IllegalInstruction(0xffff_ffff), pc: asm::TEXT }
    );
    let (out, _) = run_words(&[0], &[], 100);
    assert!(matches!(out, Outcome::Trap { kind: TrapKind::IllegalInstruction(0), .. }), "c.unimp");
    let _ = BREAK;
}

#[test]
fn fuel_at_max_minus_one_max_and_max_plus_one() {
    // 5 instructions then exit: li a0,7; li a7,93; addi; addi; ecall = 5 retired.
    let code = [addi(10, 0, 7), addi(17, 0, 93), addi(1, 1, 1), addi(1, 1, 1), ECALL];
    let (out, _) = run_words(&code, &[], 4);
    assert_eq!(out, Outcome::OutOfFuel { pc: asm::TEXT }, "max - 1: the block does not fit");
    assert_eq!(run_words(&code, &[], 5).0, Outcome::Exited(7), "max");
    assert_eq!(run_words(&code, &[], 6).0, Outcome::Exited(7), "max + 1");
    assert_eq!(run_words(&code, &[], 0).0, Outcome::OutOfFuel { pc: asm::TEXT }, "zero fuel");
    // An infinite loop stops with out of fuel, having retired no more than the fuel.
    asm::with_vm(&asm::elf(&asm::words(&[j(0, 0)]), &[]), |vm| {
        let out = vm.run(1_000_001, &mut shardbox_vm::NullHost);
        assert_eq!(out, Outcome::OutOfFuel { pc: asm::TEXT });
        assert_eq!(vm.instret(), 1_000_001);
    });
}

/// RVC expansions as GNU as assembles them (`c.*` vs the spec's 32-bit equivalent with
/// `.option norvc`), bit for bit.
#[test]
fn rvc_expansions_match_gnu_as() {
    const TABLE: &[(u16, u32)] = &[
        (0x0800, 0x01010413),
        (0x1ffc, 0x3fc10793),
        (0x4188, 0x0005a503),
        (0x5fe4, 0x07c7a483),
        (0x6588, 0x0085b503),
        (0x7fe4, 0x0f87b483),
        (0xc1c8, 0x00a5a223),
        (0xdfe4, 0x0697ae23),
        (0xe588, 0x00a5b423),
        (0xffe4, 0x0e97bc23),
        (0x0001, 0x00000013),
        (0x1501, 0xfe050513),
        (0x0ffd, 0x01ff8f93),
        (0x357d, 0xfff5051b),
        (0x2e7d, 0x01fe0e1b),
        (0x5501, 0xfe000513),
        (0x4dfd, 0x01f00d93),
        (0x7101, 0xe0010113),
        (0x617d, 0x1f010113),
        (0x6505, 0x00001537),
        (0x7281, 0xfffe02b7),
        (0x647d, 0x0001f437),
        (0x8105, 0x00155513),
        (0x90fd, 0x03f4d493),
        (0x8505, 0x40155513),
        (0x97fd, 0x43f7d793),
        (0x9901, 0xfe057513),
        (0x88fd, 0x01f4f493),
        (0x8d0d, 0x40b50533),
        (0x8c3d, 0x00f44433),
        (0x8e55, 0x00d66633),
        (0x8f7d, 0x00f77733),
        (0x9d0d, 0x40b5053b),
        (0x9cbd, 0x00f484bb),
        (0x0506, 0x00151513),
        (0x1ffe, 0x03ff9f93),
        (0x4502, 0x00012503),
        (0x50fe, 0x0fc12083),
        (0x6522, 0x00813503),
        (0x7ffe, 0x1f813f83),
        (0x852e, 0x00b00533),
        (0x8f86, 0x00100fb3),
        (0x952e, 0x00b50533),
        (0x9f86, 0x001f8fb3),
        (0xc22a, 0x00a12223),
        (0xdffe, 0x0ff12e23),
        (0xe42a, 0x00a13423),
        (0xfffe, 0x1ff13c23),
        (0x2588, 0x0085b507),
        (0xbfe4, 0x0e97bc27),
        (0x307e, 0x1f813007),
        (0xa47e, 0x01f13427),
        // c.j ±, c.beqz/c.bnez ±, c.jr, c.jalr, c.ebreak
        (0xaffd, 0x7fe0006f),
        (0xb001, 0x801ff06f),
        (0xcd7d, 0x0e050f63),
        (0xf081, 0xf00490e3),
        (0x8082, 0x00008067),
        (0x9282, 0x000280e7),
        (0x9002, 0x00100073),
    ];
    for &(c, want) in TABLE {
        assert_eq!(rvc::expand(c), Some(want), "{c:#06x}");
        let (full, short) = (decode::decode32(want, 2), decode::decode32(want, 1));
        assert_eq!((full.kind, full.rd, full.imm), (short.kind, short.rd, short.imm));
    }
}

#[test]
fn reserved_rvc_encodings_are_illegal() {
    for c in [
        0x0000u16, // all zero
        0x8002,    // c.jr x0
        0x4002,    // c.lwsp x0
        0x6002,    // c.ldsp x0
        0x2001,    // c.addiw x0
        0x6101,    // c.addi16sp 0
        0x6081,    // c.lui x1, 0
        0x9c41,    // c.subw group, reserved slot
        0x9c61,    // c.subw group, reserved slot
        0x8000,    // quadrant 0 funct3 4
        0x0010,    // c.addi4spn with zero immediate (rd' = a2)
    ] {
        assert_eq!(rvc::expand(c), None, "{c:#06x}");
    }
    // And executing one traps.
    let (out, _) = run_words(&[0x0000_8002], &[], 10);
    assert!(
        matches!(out, Outcome::Trap { kind: TrapKind::IllegalInstruction(0x8002), .. }),
        "{out:?}"
    );
    // Compressed FP loads decode to FP loads.
    assert_eq!(decode::decode32(rvc::expand(0x2588).unwrap(), 1).kind, Kind::Fld);
}

#[test]
fn fence_and_fence_i_are_no_ops() {
    // a0 = 1; fence rw,rw; fence.i; fence iorw,iorw; fence.tso; a0 += 1; ebreak
    let code =
        [addi(10, 0, 1), 0x0330_000f, 0x0000_100f, 0x0ff0_000f, 0x8330_000f, addi(10, 10, 1)];
    let mut all = code.to_vec();
    all.push(EBREAK);
    let (out, x) = run_words(&all, &[], 100);
    assert_eq!(out, Outcome::Trap { kind: TrapKind::Breakpoint, pc: asm::TEXT + 24 });
    assert_eq!(x[10], 2);
}
