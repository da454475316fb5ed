//! Expansion of RV64C compressed instructions into their 32-bit equivalents.
//!
//! [`expand`] maps a 16-bit instruction to the 32-bit instruction the spec defines it as, or
//! `None` for reserved encodings (including the all-zero halfword, `C.ADDI4SPN` with a zero
//! immediate, `C.LWSP`/`C.LDSP` into `x0`, `C.JR x0`, `C.ADDIW` into `x0`, `C.ADDI16SP`/`C.LUI`
//! with a zero immediate, and the reserved `C.SUBW`-group slots). HINT encodings expand to their
//! base instruction, which has no effect. The expansion is then decoded by
//! [`crate::decode::decode32`], so compressed and full instructions share one semantics.
//!
//! Compressed floating-point loads and stores (`C.FLD`, `C.FSD`, `C.FLDSP`, `C.FSDSP`) expand to
//! `FLD`/`FSD`; whether those execute is decided by the FP decoder.

fn b(x: u32, hi: u32, lo: u32) -> u32 {
    (x >> lo) & ((1u32 << (hi - lo + 1)) - 1)
}

fn sext(value: u32, width: u32) -> u32 {
    let shift = 32 - width;
    (((value << shift) as i32) >> shift) as u32
}

fn i_type(imm: u32, rs1: u32, f3: u32, rd: u32, opcode: u32) -> u32 {
    ((imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | opcode
}

fn s_type(imm: u32, rs2: u32, rs1: u32, f3: u32, opcode: u32) -> u32 {
    (b(imm, 11, 5) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (b(imm, 4, 0) << 7) | opcode
}

fn r_type(f7: u32, rs2: u32, rs1: u32, f3: u32, rd: u32, opcode: u32) -> u32 {
    (f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | opcode
}

fn b_type(imm: u32, rs2: u32, rs1: u32, f3: u32) -> u32 {
    (b(imm, 12, 12) << 31)
        | (b(imm, 10, 5) << 25)
        | (rs2 << 20)
        | (rs1 << 15)
        | (f3 << 12)
        | (b(imm, 4, 1) << 8)
        | (b(imm, 11, 11) << 7)
        | 0x63
}

fn j_type(imm: u32, rd: u32) -> u32 {
    (b(imm, 20, 20) << 31)
        | (b(imm, 10, 1) << 21)
        | (b(imm, 11, 11) << 20)
        | (b(imm, 19, 12) << 12)
        | (rd << 7)
        | 0x6f
}

/// Expands one 16-bit instruction (low two bits != 0b11) to its 32-bit form; `None` if reserved.
pub fn expand(c: u16) -> Option<u32> {
    let x = u32::from(c);
    let f3 = b(x, 15, 13);
    let rd = b(x, 11, 7); // full register field
    let rs2 = b(x, 6, 2);
    let rdp = b(x, 4, 2) + 8; // rd'/rs2' in quadrant 0
    let rs1p = b(x, 9, 7) + 8; // rs1'/rd'
    let imm6 = sext((b(x, 12, 12) << 5) | b(x, 6, 2), 6);
    match (x & 3, f3) {
        (0, 0) => {
            let nzuimm =
                (b(x, 12, 11) << 4) | (b(x, 10, 7) << 6) | (b(x, 6, 6) << 2) | (b(x, 5, 5) << 3);
            (nzuimm != 0).then(|| i_type(nzuimm, 2, 0, rdp, 0x13)) // addi rd', sp, nzuimm
        }
        (0, 1) => Some(i_type(ld_off(x), rs1p, 3, rdp, 0x07)), // fld
        (0, 2) => {
            let off = (b(x, 12, 10) << 3) | (b(x, 6, 6) << 2) | (b(x, 5, 5) << 6);
            Some(i_type(off, rs1p, 2, rdp, 0x03)) // lw
        }
        (0, 3) => Some(i_type(ld_off(x), rs1p, 3, rdp, 0x03)), // ld
        (0, 5) => Some(s_type(ld_off(x), rdp, rs1p, 3, 0x27)), // fsd
        (0, 6) => {
            let off = (b(x, 12, 10) << 3) | (b(x, 6, 6) << 2) | (b(x, 5, 5) << 6);
            Some(s_type(off, rdp, rs1p, 2, 0x23)) // sw
        }
        (0, 7) => Some(s_type(ld_off(x), rdp, rs1p, 3, 0x23)), // sd
        (1, 0) => Some(i_type(imm6, rd, 0, rd, 0x13)),         // c.addi / c.nop (+ HINTs)
        (1, 1) => (rd != 0).then(|| i_type(imm6, rd, 0, rd, 0x1b)), // c.addiw
        (1, 2) => Some(i_type(imm6, 0, 0, rd, 0x13)),          // c.li
        (1, 3) if rd == 2 => {
            let imm = sext(
                (b(x, 12, 12) << 9)
                    | (b(x, 6, 6) << 4)
                    | (b(x, 5, 5) << 6)
                    | (b(x, 4, 3) << 7)
                    | (b(x, 2, 2) << 5),
                10,
            );
            (imm != 0).then(|| i_type(imm, 2, 0, 2, 0x13)) // c.addi16sp
        }
        (1, 3) => {
            let imm = sext((b(x, 12, 12) << 17) | (b(x, 6, 2) << 12), 18);
            (imm != 0).then_some((imm & 0xffff_f000) | (rd << 7) | 0x37) // c.lui
        }
        (1, 4) => {
            let shamt = (b(x, 12, 12) << 5) | b(x, 6, 2);
            match b(x, 11, 10) {
                0 => Some(i_type(shamt, rs1p, 5, rs1p, 0x13)), // c.srli
                1 => Some(i_type(shamt | 0x400, rs1p, 5, rs1p, 0x13)), // c.srai
                2 => Some(i_type(imm6, rs1p, 7, rs1p, 0x13)),  // c.andi
                _ => {
                    let rs2p = rdp;
                    match (b(x, 12, 12), b(x, 6, 5)) {
                        (0, 0) => Some(r_type(0x20, rs2p, rs1p, 0, rs1p, 0x33)), // c.sub
                        (0, 1) => Some(r_type(0, rs2p, rs1p, 4, rs1p, 0x33)),    // c.xor
                        (0, 2) => Some(r_type(0, rs2p, rs1p, 6, rs1p, 0x33)),    // c.or
                        (0, 3) => Some(r_type(0, rs2p, rs1p, 7, rs1p, 0x33)),    // c.and
                        (1, 0) => Some(r_type(0x20, rs2p, rs1p, 0, rs1p, 0x3b)), // c.subw
                        (1, 1) => Some(r_type(0, rs2p, rs1p, 0, rs1p, 0x3b)),    // c.addw
                        _ => None,
                    }
                }
            }
        }
        (1, 5) => {
            let imm = sext(
                (b(x, 12, 12) << 11)
                    | (b(x, 11, 11) << 4)
                    | (b(x, 10, 9) << 8)
                    | (b(x, 8, 8) << 10)
                    | (b(x, 7, 7) << 6)
                    | (b(x, 6, 6) << 7)
                    | (b(x, 5, 3) << 1)
                    | (b(x, 2, 2) << 5),
                12,
            );
            Some(j_type(imm, 0)) // c.j
        }
        (1, 6) | (1, 7) => {
            let imm = sext(
                (b(x, 12, 12) << 8)
                    | (b(x, 11, 10) << 3)
                    | (b(x, 6, 5) << 6)
                    | (b(x, 4, 3) << 1)
                    | (b(x, 2, 2) << 5),
                9,
            );
            Some(b_type(imm, 0, rs1p, f3 - 6)) // c.beqz (f3 0) / c.bnez (f3 1)
        }
        (2, 0) => {
            let shamt = (b(x, 12, 12) << 5) | b(x, 6, 2);
            Some(i_type(shamt, rd, 1, rd, 0x13)) // c.slli
        }
        (2, 1) => Some(i_type(ldsp_off(x), 2, 3, rd, 0x07)), // fldsp
        (2, 2) => {
            let off = (b(x, 12, 12) << 5) | (b(x, 6, 4) << 2) | (b(x, 3, 2) << 6);
            (rd != 0).then(|| i_type(off, 2, 2, rd, 0x03)) // lwsp
        }
        (2, 3) => (rd != 0).then(|| i_type(ldsp_off(x), 2, 3, rd, 0x03)), // ldsp
        (2, 4) => match (b(x, 12, 12), rd, rs2) {
            (0, 0, 0) => None,                                  // c.jr x0: reserved
            (0, _, 0) => Some(i_type(0, rd, 0, 0, 0x67)),       // c.jr
            (0, _, _) => Some(r_type(0, rs2, 0, 0, rd, 0x33)),  // c.mv
            (_, 0, 0) => Some(0x0010_0073),                     // c.ebreak
            (_, _, 0) => Some(i_type(0, rd, 0, 1, 0x67)),       // c.jalr
            (_, _, _) => Some(r_type(0, rs2, rd, 0, rd, 0x33)), // c.add
        },
        (2, 5) => Some(s_type(sdsp_off(x), rs2, 2, 3, 0x27)), // fsdsp
        (2, 6) => {
            let off = (b(x, 12, 9) << 2) | (b(x, 8, 7) << 6);
            Some(s_type(off, rs2, 2, 2, 0x23)) // swsp
        }
        (2, 7) => Some(s_type(sdsp_off(x), rs2, 2, 3, 0x23)), // sdsp
        _ => None, // (0, 4) reserved; quadrant 3 is not compressed
    }
}

/// `C.LD`/`C.FLD`/`C.SD`/`C.FSD` offset: uimm[5:3] = bits 12:10, uimm[7:6] = bits 6:5.
fn ld_off(x: u32) -> u32 {
    (b(x, 12, 10) << 3) | (b(x, 6, 5) << 6)
}

/// `C.LDSP`/`C.FLDSP` offset: uimm[5] = bit 12, uimm[4:3] = bits 6:5, uimm[8:6] = bits 4:2.
fn ldsp_off(x: u32) -> u32 {
    (b(x, 12, 12) << 5) | (b(x, 6, 5) << 3) | (b(x, 4, 2) << 6)
}

/// `C.SDSP`/`C.FSDSP` offset: uimm[5:3] = bits 12:10, uimm[8:6] = bits 9:7.
fn sdsp_off(x: u32) -> u32 {
    (b(x, 12, 10) << 3) | (b(x, 9, 7) << 6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_expansions() {
        // c.addi sp, -16 (0x1141) → addi sp, sp, -16
        assert_eq!(expand(0x1141), Some(0xff01_0113));
        // c.sdsp ra, 8(sp) (0xe406) → sd ra, 8(sp)
        assert_eq!(expand(0xe406), Some(0x0011_3423));
        // c.ldsp ra, 8(sp) (0x60a2) → ld ra, 8(sp)
        assert_eq!(expand(0x60a2), Some(0x0081_3083));
        // c.jr ra (0x8082) → jalr x0, 0(ra)
        assert_eq!(expand(0x8082), Some(0x0000_8067));
        // c.li a0, 0 (0x4501) → addi a0, x0, 0
        assert_eq!(expand(0x4501), Some(0x0000_0513));
        // c.mv a0, a1 (0x852e) → add a0, x0, a1
        assert_eq!(expand(0x852e), Some(0x00b0_0533));
    }

    #[test]
    fn reserved() {
        assert_eq!(expand(0x0000), None);
        assert_eq!(expand(0x8002), None); // c.jr x0
        assert_eq!(expand(0x4002), None); // c.lwsp x0
        assert_eq!(expand(0x6002), None); // c.ldsp x0
        assert_eq!(expand(0x2001), None); // c.addiw x0
        assert_eq!(expand(0x6101), None); // c.addi16sp 0
        assert_eq!(expand(0x6081), None); // c.lui x1, 0
        assert_eq!(expand(0x9c41), None); // reserved slot of the c.subw group (bits 6:5 = 2)
        assert_eq!(expand(0x8000), None); // quadrant 0 funct3 4
    }
}
