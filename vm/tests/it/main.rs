//! Integration tests of `shardbox_vm`, one module per concern.

mod asm;
mod elf;
mod fork;
mod fpu_oracle;
mod fpu_prop;
mod fpu_qemu;
mod fused;
mod guests;
mod host;
mod isa;
mod linux;
mod qemu_diff;
mod reference;
mod robustness;
