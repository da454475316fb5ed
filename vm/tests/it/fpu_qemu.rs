//! `shardbox_vm::fpu` against qemu-riscv64's F/D implementation, instruction by instruction.
//!
//! `vm/guest/prebuilt/diff-fpvec.elf` (source `vm/guest/diff/fpvec.c`) executes every F and D
//! instruction on edge and pseudo-random operands in all five rounding modes and prints each
//! execution's operands, result register and `fflags`: about 200 000 lines. This test runs it
//! under qemu (an implementation independent of ours and of the rational oracle) and
//! recomputes every line with `fpu`, including the NaN-boxing of single results and of an
//! improperly boxed single operand. Every line is computed twice: with the `fpu` function of
//! the mnemonic, and by encoding the instruction word from an independent table here and
//! running it through `fpu::insn::decode` + `execute` on an `FpState`. It skips, saying why, when qemu-riscv64 is not installed.

use shardbox_vm::fpu::insn::{self, IntRegs};
use shardbox_vm::fpu::{self, CSR_FRM, Flags, FpState, Rounding};
use std::path::Path;
use std::process::Command;

/// What `fpu` says line `op rm a b c` should produce: (result register, fflags).
fn expected(op: &str, rm: Rounding, a: u64, b: u64, c: u64) -> Option<(u64, u8)> {
    let s = |x: u64| x as u32;
    // A single result as fmv.x.w shows it: sign-extended from bit 31.
    let sx = |(r, f): (u32, Flags)| (fpu::fmv_x_w(fpu::box_s(r)), f.bits());
    let dx = |(r, f): (u64, Flags)| (r, f.bits());
    let bx = |(r, f): (bool, Flags)| (u64::from(r), f.bits());
    let ix = |(r, f): (u64, Flags)| (r, f.bits());
    Some(match op {
        "fadd.s" => sx(fpu::fadd_s(s(a), s(b), rm)),
        "fsub.s" => sx(fpu::fsub_s(s(a), s(b), rm)),
        "fmul.s" => sx(fpu::fmul_s(s(a), s(b), rm)),
        "fdiv.s" => sx(fpu::fdiv_s(s(a), s(b), rm)),
        "fsqrt.s" => sx(fpu::fsqrt_s(s(a), rm)),
        "fmin.s" => sx(fpu::fmin_s(s(a), s(b))),
        "fmax.s" => sx(fpu::fmax_s(s(a), s(b))),
        "fsgnj.s" => sx((fpu::fsgnj_s(s(a), s(b)), Flags::NONE)),
        "fsgnjn.s" => sx((fpu::fsgnjn_s(s(a), s(b)), Flags::NONE)),
        "fsgnjx.s" => sx((fpu::fsgnjx_s(s(a), s(b)), Flags::NONE)),
        "fmadd.s" => sx(fpu::fmadd_s(s(a), s(b), s(c), rm)),
        "fmsub.s" => sx(fpu::fmsub_s(s(a), s(b), s(c), rm)),
        "fnmsub.s" => sx(fpu::fnmsub_s(s(a), s(b), s(c), rm)),
        "fnmadd.s" => sx(fpu::fnmadd_s(s(a), s(b), s(c), rm)),
        "feq.s" => bx(fpu::feq_s(s(a), s(b))),
        "flt.s" => bx(fpu::flt_s(s(a), s(b))),
        "fle.s" => bx(fpu::fle_s(s(a), s(b))),
        "fclass.s" => (fpu::fclass_s(s(a)), 0),
        "fcvt.w.s" => ix(fpu::fcvt_w_s(s(a), rm)),
        "fcvt.wu.s" => ix(fpu::fcvt_wu_s(s(a), rm)),
        "fcvt.l.s" => ix(fpu::fcvt_l_s(s(a), rm)),
        "fcvt.lu.s" => ix(fpu::fcvt_lu_s(s(a), rm)),
        "fcvt.s.w" => sx(fpu::fcvt_s_w(a, rm)),
        "fcvt.s.wu" => sx(fpu::fcvt_s_wu(a, rm)),
        "fcvt.s.l" => sx(fpu::fcvt_s_l(a, rm)),
        "fcvt.s.lu" => sx(fpu::fcvt_s_lu(a, rm)),
        "fcvt.d.s" => dx(fpu::fcvt_d_s(s(a), rm)),
        "fadd.d" => dx(fpu::fadd_d(a, b, rm)),
        "fsub.d" => dx(fpu::fsub_d(a, b, rm)),
        "fmul.d" => dx(fpu::fmul_d(a, b, rm)),
        "fdiv.d" => dx(fpu::fdiv_d(a, b, rm)),
        "fsqrt.d" => dx(fpu::fsqrt_d(a, rm)),
        "fmin.d" => dx(fpu::fmin_d(a, b)),
        "fmax.d" => dx(fpu::fmax_d(a, b)),
        "fsgnj.d" => (fpu::fsgnj_d(a, b), 0),
        "fsgnjn.d" => (fpu::fsgnjn_d(a, b), 0),
        "fsgnjx.d" => (fpu::fsgnjx_d(a, b), 0),
        "fmadd.d" => dx(fpu::fmadd_d(a, b, c, rm)),
        "fmsub.d" => dx(fpu::fmsub_d(a, b, c, rm)),
        "fnmsub.d" => dx(fpu::fnmsub_d(a, b, c, rm)),
        "fnmadd.d" => dx(fpu::fnmadd_d(a, b, c, rm)),
        "feq.d" => bx(fpu::feq_d(a, b)),
        "flt.d" => bx(fpu::flt_d(a, b)),
        "fle.d" => bx(fpu::fle_d(a, b)),
        "fclass.d" => (fpu::fclass_d(a), 0),
        "fcvt.w.d" => ix(fpu::fcvt_w_d(a, rm)),
        "fcvt.wu.d" => ix(fpu::fcvt_wu_d(a, rm)),
        "fcvt.l.d" => ix(fpu::fcvt_l_d(a, rm)),
        "fcvt.lu.d" => ix(fpu::fcvt_lu_d(a, rm)),
        "fcvt.d.w" => dx(fpu::fcvt_d_w(a, rm)),
        "fcvt.d.wu" => dx(fpu::fcvt_d_wu(a, rm)),
        "fcvt.d.l" => dx(fpu::fcvt_d_l(a, rm)),
        "fcvt.d.lu" => dx(fpu::fcvt_d_lu(a, rm)),
        // The single result stays NaN-boxed in the f-register that fmv.x.d reads.
        "fcvt.s.d" => {
            let (r, f) = fpu::fcvt_s_d(a, rm);
            (fpu::box_s(r), f.bits())
        }
        "fadd.s.unboxed" => {
            let (r, f) = fpu::fadd_s(fpu::unbox_s(a), fpu::unbox_s(b), rm);
            (fpu::box_s(r), f.bits())
        }
        _ => return None,
    })
}

/// Encoding of each mnemonic: (opcode, funct5, fmt, rs2 field or None, funct3 or None for rm,
/// destination is an x-register, rs1 is an x-register).
fn encoding(op: &str) -> (u32, u32, u32, Option<u32>, Option<u32>, bool, bool) {
    let (base, fmt) = match op.strip_suffix(".unboxed").unwrap_or(op) {
        name if name.ends_with(".d") && !name.starts_with("fcvt.s.") => (name, 1),
        name if name.starts_with("fcvt.d.") => (name, 1),
        name => (name, 0),
    };
    let m = base.rsplit_once('.').map_or(base, |(m, _)| m);
    match m {
        "fadd" => (0x53, 0x00, fmt, None, None, false, false),
        "fsub" => (0x53, 0x01, fmt, None, None, false, false),
        "fmul" => (0x53, 0x02, fmt, None, None, false, false),
        "fdiv" => (0x53, 0x03, fmt, None, None, false, false),
        "fsqrt" => (0x53, 0x0b, fmt, Some(0), None, false, false),
        "fsgnj" => (0x53, 0x04, fmt, None, Some(0), false, false),
        "fsgnjn" => (0x53, 0x04, fmt, None, Some(1), false, false),
        "fsgnjx" => (0x53, 0x04, fmt, None, Some(2), false, false),
        "fmin" => (0x53, 0x05, fmt, None, Some(0), false, false),
        "fmax" => (0x53, 0x05, fmt, None, Some(1), false, false),
        "feq" => (0x53, 0x14, fmt, None, Some(2), true, false),
        "flt" => (0x53, 0x14, fmt, None, Some(1), true, false),
        "fle" => (0x53, 0x14, fmt, None, Some(0), true, false),
        "fclass" => (0x53, 0x1c, fmt, Some(0), Some(1), true, false),
        "fmadd" => (0x43, 0, fmt, None, None, false, false),
        "fmsub" => (0x47, 0, fmt, None, None, false, false),
        "fnmsub" => (0x4b, 0, fmt, None, None, false, false),
        "fnmadd" => (0x4f, 0, fmt, None, None, false, false),
        "fcvt.w" => (0x53, 0x18, fmt, Some(0), None, true, false),
        "fcvt.wu" => (0x53, 0x18, fmt, Some(1), None, true, false),
        "fcvt.l" => (0x53, 0x18, fmt, Some(2), None, true, false),
        "fcvt.lu" => (0x53, 0x18, fmt, Some(3), None, true, false),
        "fcvt.s" | "fcvt.d" => match base.rsplit_once('.').map(|(_, src)| src) {
            Some("w") => (0x53, 0x1a, fmt, Some(0), None, false, true),
            Some("wu") => (0x53, 0x1a, fmt, Some(1), None, false, true),
            Some("l") => (0x53, 0x1a, fmt, Some(2), None, false, true),
            Some("lu") => (0x53, 0x1a, fmt, Some(3), None, false, true),
            // fcvt.s.d (fmt S, rs2 = D) and fcvt.d.s (fmt D, rs2 = S).
            Some("d") => (0x53, 0x08, 0, Some(1), None, false, false),
            Some("s") => (0x53, 0x08, 1, Some(0), None, false, false),
            _ => panic!("unknown conversion {op}"),
        },
        _ => panic!("unknown mnemonic {op}"),
    }
}

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

/// Line `op rm a b c` executed as an instruction word through `fpu::insn`.
fn via_insn(op: &str, rm: u32, a: u64, b: u64, c: u64) -> (u64, u8) {
    let (opcode, funct5, fmt, rs2_field, funct3, x_dest, x_src) = encoding(op);
    let (rd, rs1) = (if x_dest { 10 } else { 2 }, if x_src { 11 } else { 0 });
    let rs2 = rs2_field.unwrap_or(1);
    let funct3 = funct3.unwrap_or(7);
    let word = (if opcode == 0x53 { funct5 << 27 } else { 3 << 27 })
        | (fmt << 25)
        | (rs2 << 20)
        | (rs1 << 15)
        | (funct3 << 12)
        | (rd << 7)
        | opcode;
    let decoded = insn::decode(word).unwrap_or_else(|| panic!("{op}: {word:#010x} did not decode"));
    let mut fp = FpState::default();
    let mut x = Regs([0; 32]);
    // Operands as the C program loads them: fmv.w.x (boxed) for singles, fmv.d.x otherwise.
    let single_src = fmt == 0 && !op.ends_with(".unboxed") && op != "fcvt.s.d" || op == "fcvt.d.s";
    for (reg, value) in [(0u8, a), (1, b), (3, c)] {
        fp.set(reg, if single_src { fpu::box_s(value as u32) } else { value });
    }
    x.0[11] = a;
    fp.csr_write(CSR_FRM, u64::from(rm));
    insn::execute(&decoded, &mut fp, &mut x).expect("frm is 0..=4");
    let result = if x_dest {
        x.0[10]
    } else if fmt == 0 && !op.ends_with(".unboxed") && op != "fcvt.s.d" {
        // Read back with fmv.x.w.
        fpu::fmv_x_w(fp.get(2))
    } else {
        fp.get(2)
    };
    (result, fp.fflags().bits())
}

#[test]
fn fpu_matches_qemu_on_every_instruction() {
    let qemu_ok =
        Command::new("qemu-riscv64").arg("--version").output().is_ok_and(|o| o.status.success());
    if !qemu_ok {
        println!(
            "SKIP fpu_matches_qemu_on_every_instruction: qemu-riscv64 is not installed \
             (Debian package qemu-user; .ci/install.sh installs it)"
        );
        return;
    }
    let elf = Path::new(env!("CARGO_MANIFEST_DIR")).join("guest/prebuilt/diff-fpvec.elf");
    let out = Command::new("timeout")
        .arg("300")
        .arg("qemu-riscv64")
        .arg(&elf)
        .env_clear()
        .output()
        .expect("run qemu-riscv64");
    assert!(out.status.success(), "diff-fpvec exited with {:?}", out.status);
    let text = String::from_utf8(out.stdout).expect("ASCII output");
    let mut checked = 0usize;
    let mut mismatches = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let [op, rm, a, b, c, r, f] = fields[..] else { panic!("malformed line {line:?}") };
        let hex = |s: &str| u64::from_str_radix(s, 16).expect("hex field");
        let rm = Rounding::from_bits(hex(rm) as u32).expect("rm 0..=4");
        let want = (hex(r), hex(f) as u8);
        let got =
            expected(op, rm, hex(a), hex(b), hex(c)).unwrap_or_else(|| panic!("unknown op {op}"));
        if got != want {
            mismatches.push(format!("{line}  (fpu: {:x} {:x})", got.0, got.1));
        }
        let (_, _, a, b, c) =
            (fields[0], fields[1], hex(fields[2]), hex(fields[3]), hex(fields[4]));
        let decoded = via_insn(op, rm as u32, a, b, c);
        if decoded != want {
            mismatches.push(format!("{line}  (fpu::insn: {:x} {:x})", decoded.0, decoded.1));
        }
        checked += 1;
    }
    assert!(checked > 150_000, "only {checked} vectors");
    assert!(
        mismatches.is_empty(),
        "{} of {checked} vectors differ from qemu, first ones:\n{}",
        mismatches.len(),
        mismatches.iter().take(30).cloned().collect::<Vec<_>>().join("\n")
    );
}
