//! The fuzz properties (`shardbox_vm::props`) on generated inputs, so CI exercises them without
//! a fuzzer: thousands of random instruction streams (biased towards valid opcodes), thousands of
//! mutated ELF files, and every committed seed of `fuzz/corpus/vm_elf` and `fuzz/corpus/vm_exec`.

use std::path::{Path, PathBuf};

use shardbox_vm::props::{check_elf, check_exec, elf_image};

/// splitmix64: a fixed-seed generator, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Major opcodes of RV64GC 32-bit instructions (loads, stores, ALU, branches, jumps, system,
/// AMOs, FP): a random word with one of these decodes to something real far more often.
const OPCODES: [u32; 19] = [
    0x03, 0x07, 0x0f, 0x13, 0x17, 0x1b, 0x23, 0x27, 0x2f, 0x33, 0x37, 0x3b, 0x43, 0x53, 0x63, 0x67,
    0x6f, 0x73, 0x13,
];

/// A random stream: biased 32-bit words, compressed halfwords and the odd raw word; branch and
/// jump offsets kept short so loops stay inside the code.
fn stream(rng: &mut Rng) -> Vec<u8> {
    let mut out: Vec<u8> = rng.next().to_le_bytes().to_vec(); // register seed
    let n = 1 + rng.below(40);
    for _ in 0..n {
        match rng.below(8) {
            0..=4 => {
                let op = OPCODES[rng.below(OPCODES.len() as u64) as usize];
                let mut w = (rng.next() as u32 & !0x7f) | op;
                if op == 0x63 || op == 0x6f {
                    // Keep immediates small: clear the high offset bits, keep the sign random.
                    w &= 0x81ff_ffff;
                }
                if op == 0x73 && rng.below(2) == 0 {
                    w = 0x0000_0073; // ecall with whatever a7 holds
                }
                out.extend_from_slice(&w.to_le_bytes());
            }
            5 | 6 => {
                // Low bits 00, 01 or 10: a compressed instruction.
                let h = (rng.next() as u16 & !3) | rng.below(3) as u16;
                out.extend_from_slice(&h.to_le_bytes());
            }
            _ => out.extend_from_slice(&(rng.next() as u32).to_le_bytes()),
        }
    }
    // Data: a third of the length again.
    let data = out.len() / 3;
    for _ in 0..data {
        out.push(rng.next() as u8);
    }
    out
}

#[test]
fn random_instruction_streams_never_crash_the_host() {
    let mut rng = Rng(0x5eed_0001);
    for _ in 0..3000 {
        check_exec(&stream(&mut rng));
    }
}

#[test]
fn host_calls_with_random_arguments_never_crash_the_host() {
    // `li a7, nr; ecall` for every shardbox host call and the Linux calls the VM serves, with
    // random argument registers from the seed, then a loop back to the start.
    let mut rng = Rng(0x5eed_0002);
    let calls = [500u32, 501, 502, 503, 504, 510, 511, 512, 513, 63, 64, 66, 214, 215, 222, 226];
    for _ in 0..1500 {
        let mut input = rng.next().to_le_bytes().to_vec();
        for _ in 0..1 + rng.below(6) {
            let nr = calls[rng.below(calls.len() as u64) as usize];
            let li = (nr << 20) | (17 << 7) | 0x13; // addi a7, x0, nr
            input.extend_from_slice(&li.to_le_bytes());
            input.extend_from_slice(&0x0000_0073u32.to_le_bytes());
        }
        input.extend_from_slice(&0xff9f_f06fu32.to_le_bytes()); // j -8: repeat the last call
        for _ in 0..input.len() / 3 {
            input.push(rng.next() as u8);
        }
        check_exec(&input);
    }
}

fn guest_elf(name: &str) -> Vec<u8> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("guest/prebuilt").join(format!("{name}.elf"));
    std::fs::read(path).expect("prebuilt ELF")
}

#[test]
fn mutated_elf_files_give_errors_never_panics() {
    let mut rng = Rng(0x5eed_0003);
    let seeds = [
        guest_elf("c-handler"),
        guest_elf("c-hello"),
        guest_elf("t-kernels"),
        guest_elf("rust-hello"),
        elf_image(&[0x13, 0x05, 0x10, 0x00, 0x73, 0x00, 0x10, 0x00], b"data"),
    ];
    for seed in &seeds {
        check_elf(seed);
    }
    for _ in 0..3000 {
        let mut file = seeds[rng.below(seeds.len() as u64) as usize].clone();
        match rng.below(4) {
            // Overwrite a header or program-header field with an edge value.
            0 => {
                let at = rng.below(64 + 2 * 56) as usize;
                let edge = [0u64, 1, u64::MAX, 1 << 32, 0x7fff_ffff, 0x1000][rng.below(6) as usize];
                let width = [1usize, 2, 4, 8][rng.below(4) as usize];
                for (i, b) in edge.to_le_bytes().iter().take(width).enumerate() {
                    if let Some(slot) = file.get_mut(at + i) {
                        *slot = *b;
                    }
                }
            }
            // Flip random bits anywhere.
            1 => {
                for _ in 0..1 + rng.below(8) {
                    let at = rng.below(file.len() as u64) as usize;
                    file[at] ^= 1 << rng.below(8);
                }
            }
            // Truncate.
            2 => file.truncate(rng.below(file.len() as u64) as usize),
            // Random bytes over a random span.
            _ => {
                let at = rng.below(file.len() as u64) as usize;
                for b in file.iter_mut().skip(at).take(1 + rng.below(64) as usize) {
                    *b = rng.next() as u8;
                }
            }
        }
        check_elf(&file);
    }
}

#[test]
fn glibc_elf_truncations_give_errors() {
    let file = guest_elf("diff-int");
    for cut in [0, 3, 63, 64, 100, 4095, file.len() / 2, file.len() - 1] {
        check_elf(file.get(..cut).expect("cut inside the file"));
    }
}

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(target);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("dir entry").path();
            let name = path.file_name().expect("file name").to_string_lossy().into_owned();
            (name, std::fs::read(&path).expect("corpus file"))
        })
        .collect();
    files.sort();
    assert!(files.len() >= 5, "corpus {} has only {} files", dir.display(), files.len());
    files
}

#[test]
fn fuzz_corpus_holds_the_properties() {
    for (name, data) in corpus("vm_elf") {
        let r = std::panic::catch_unwind(|| check_elf(&data));
        assert!(r.is_ok(), "property failed on vm_elf/{name}");
    }
    for (name, data) in corpus("vm_exec") {
        let r = std::panic::catch_unwind(|| check_exec(&data));
        assert!(r.is_ok(), "property failed on vm_exec/{name}");
    }
}
