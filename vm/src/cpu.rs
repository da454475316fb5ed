//! The architectural state of one hart: integer registers, pc, F/D state, the LR reservation
//! and the retired-instruction counter.
//!
//! [`Cpu`] is plain data, copied when an instance forks from its template. The integer file has
//! 256 slots so that any `u8` index needs no bounds check and no mask (a mask is one host
//! instruction per operand in the interpreter; the larger file costs about 1.5 KB more to copy
//! per fork): `x[0]` is never written (reads zero), `x[32]` is the sink that absorbs writes whose
//! destination is `x0` ([`crate::op::SINK`]), the rest are unused. It does not execute anything ([`crate::exec`]).

use crate::fpu::FpState;
use crate::fpu::insn::IntRegs;

/// ABI register numbers used by the host.
pub mod reg {
    /// Return address.
    pub const RA: u8 = 1;
    /// Stack pointer.
    pub const SP: u8 = 2;
    /// Global pointer.
    pub const GP: u8 = 3;
    /// Thread pointer.
    pub const TP: u8 = 4;
    /// First argument / return value.
    pub const A0: u8 = 10;
    /// Host call number.
    pub const A7: u8 = 17;
}

/// One hart's state (see the module doc).
#[derive(Clone, Debug, PartialEq)]
pub struct Cpu {
    /// `x0`–`x31`, then the sink (32), then unused slots.
    pub x: [u64; 256],
    /// The program counter.
    pub pc: u64,
    /// `f0`–`f31` and `fcsr`.
    pub fp: FpState,
    /// The address reserved by the last `lr.w`/`lr.d`, cleared by any `sc`.
    pub reservation: Option<u64>,
    /// Instructions retired since this state was created (the `instret`/`cycle` CSRs).
    pub instret: u64,
}

impl Default for Cpu {
    fn default() -> Self {
        Cpu { x: [0; 256], pc: 0, fp: FpState::default(), reservation: None, instret: 0 }
    }
}

impl Cpu {
    /// Reads `x[index]` (`x0` reads zero).
    #[inline]
    pub fn get(&self, index: u8) -> u64 {
        self.x.get(usize::from(index & 31)).copied().unwrap_or(0)
    }

    /// Writes `x[index]`; writes to `x0` are dropped.
    #[inline]
    pub fn set(&mut self, index: u8, value: u64) {
        let index = usize::from(index & 31);
        if index != 0
            && let Some(r) = self.x.get_mut(index)
        {
            *r = value;
        }
    }
}

/// The integer file as the FP executor sees it: indices are masked, never bounds-checked; the
/// decoder turns `x0` destinations into the sink, so writes need no `x0` test.
pub struct XRegs<'a>(pub &'a mut [u64; 256]);

impl IntRegs for XRegs<'_> {
    #[inline]
    fn x(&self, index: u8) -> u64 {
        let Some(v) = self.0.get(usize::from(index)) else { return 0 };
        *v
    }

    #[inline]
    fn set_x(&mut self, index: u8, value: u64) {
        // x0 is never the destination here (decode maps it to the sink); keep it zero anyway.
        if index != 0
            && let Some(r) = self.0.get_mut(usize::from(index))
        {
            *r = value;
        }
    }
}
