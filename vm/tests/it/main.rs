//! Integration tests of `shardbox_vm`, one module per concern.

mod fpu_oracle;
mod fpu_prop;
mod fpu_qemu;
mod guests;
mod qemu_diff;
