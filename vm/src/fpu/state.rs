//! The architectural floating-point state of a hart: `f0`–`f31` and `fcsr`.
//!
//! [`FpState`] holds the 32 64-bit f-registers (singles NaN-boxed) and `fcsr` (`frm` in bits
//! 7..5, `fflags` in bits 4..0). It resolves an instruction's `rm` field against `frm`
//! ([`FpState::rounding`]), accrues flags ([`FpState::accrue`]) and implements the three FP CSRs
//! (`fflags` 0x001, `frm` 0x002, `fcsr` 0x003) for the interpreter's Zicsr instructions
//! ([`FpState::csr_read`], [`FpState::csr_write`]). It decodes and executes nothing itself.

use super::{Flags, Rounding};

/// CSR number of `fflags`.
pub const CSR_FFLAGS: u16 = 0x001;
/// CSR number of `frm`.
pub const CSR_FRM: u16 = 0x002;
/// CSR number of `fcsr`.
pub const CSR_FCSR: u16 = 0x003;

/// `f0`–`f31` and `fcsr`. A fresh state is all zeros: every register +0.0 as a double (and so an
/// improperly boxed single), RNE, no flags.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FpState {
    /// The f-registers, raw 64-bit contents.
    pub regs: [u64; 32],
    /// `fcsr`: bits 7..5 `frm`, bits 4..0 `fflags`; the upper bits read as zero.
    fcsr: u8,
}

impl FpState {
    /// The register `f[index & 31]`.
    #[inline]
    pub fn get(&self, index: u8) -> u64 {
        self.regs.get(usize::from(index & 31)).copied().unwrap_or(0)
    }

    /// Writes `f[index & 31]`.
    #[inline]
    pub fn set(&mut self, index: u8, value: u64) {
        if let Some(r) = self.regs.get_mut(usize::from(index & 31)) {
            *r = value;
        }
    }

    /// The single in `f[index]`, unboxed ([`super::unbox_s`]).
    #[inline]
    pub fn get_s(&self, index: u8) -> u32 {
        super::unbox_s(self.get(index))
    }

    /// Writes a single to `f[index]`, NaN-boxed.
    #[inline]
    pub fn set_s(&mut self, index: u8, value: u32) {
        self.set(index, super::box_s(value));
    }

    /// The mode for an instruction whose `rm` field is `rm`, or `None` if the instruction is
    /// illegal (reserved `rm`, or DYN with a reserved `frm`).
    #[inline]
    pub fn rounding(&self, rm: u32) -> Option<Rounding> {
        Rounding::resolve(rm, u32::from(self.fcsr >> 5))
    }

    /// ORs `flags` into `fflags`.
    #[inline]
    pub fn accrue(&mut self, flags: Flags) {
        self.fcsr |= flags.bits();
    }

    /// The accrued flags.
    pub fn fflags(&self) -> Flags {
        Flags::from_bits(self.fcsr)
    }

    /// `frm`, 0..=7 (5..=7 are reserved: only DYN instructions care).
    pub fn frm(&self) -> u8 {
        self.fcsr >> 5
    }

    /// Reads an FP CSR, or `None` if `csr` is not one.
    pub fn csr_read(&self, csr: u16) -> Option<u64> {
        match csr {
            CSR_FFLAGS => Some(u64::from(self.fcsr & 0x1f)),
            CSR_FRM => Some(u64::from(self.fcsr >> 5)),
            CSR_FCSR => Some(u64::from(self.fcsr)),
            _ => None,
        }
    }

    /// Writes an FP CSR (only its defined bits are kept); `false` if `csr` is not one.
    pub fn csr_write(&mut self, csr: u16, value: u64) -> bool {
        // Truncations keep the field widths: 5 bits of fflags, 3 of frm, 8 of fcsr.
        let value = value as u8;
        match csr {
            CSR_FFLAGS => self.fcsr = (self.fcsr & 0xe0) | (value & 0x1f),
            CSR_FRM => self.fcsr = (self.fcsr & 0x1f) | ((value & 7) << 5),
            CSR_FCSR => self.fcsr = value,
            _ => return false,
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csr_fields_alias_fcsr() {
        let mut s = FpState::default();
        assert!(s.csr_write(CSR_FRM, 0xff));
        assert_eq!(s.csr_read(CSR_FRM), Some(7));
        assert_eq!(s.csr_read(CSR_FCSR), Some(0xe0));
        assert!(s.csr_write(CSR_FFLAGS, 0xff));
        assert_eq!(s.csr_read(CSR_FCSR), Some(0xff));
        assert!(s.csr_write(CSR_FCSR, 0x1_23));
        assert_eq!((s.frm(), s.fflags().bits()), (1, 3));
        assert_eq!(s.csr_read(0x004), None);
        assert!(!s.csr_write(0xc00, 1));
    }

    #[test]
    fn dynamic_rounding_uses_frm() {
        let mut s = FpState::default();
        assert_eq!(s.rounding(7), Some(Rounding::Rne));
        s.csr_write(CSR_FRM, 4);
        assert_eq!(s.rounding(7), Some(Rounding::Rmm));
        assert_eq!(s.rounding(1), Some(Rounding::Rtz));
        s.csr_write(CSR_FRM, 5);
        assert_eq!(s.rounding(7), None);
        assert_eq!(s.rounding(2), Some(Rounding::Rdn));
        assert_eq!(s.rounding(6), None);
    }

    #[test]
    fn flags_accrue_and_registers_box() {
        let mut s = FpState::default();
        s.accrue(Flags::NX);
        s.accrue(Flags::NV);
        assert_eq!(s.fflags(), Flags::NX | Flags::NV);
        s.set_s(3, 0x3f80_0000);
        assert_eq!(s.get(3), 0xffff_ffff_3f80_0000);
        assert_eq!(s.get_s(3), 0x3f80_0000);
        s.set(4, 1.0f64.to_bits());
        assert_eq!(s.get_s(4), super::super::CANONICAL_NAN_S);
        s.set(35, 9);
        assert_eq!(s.get(3), 9);
    }
}
