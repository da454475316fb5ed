//! Property functions shared by the VM fuzz targets (`fuzz/fuzz_targets/vm_*.rs`) and the tests
//! that run them on generated inputs (`vm/tests/it/robustness.rs`).
//!
//! Each `check_*` takes arbitrary bytes and panics (via `assert!`) only when a property of the VM
//! does not hold; whatever the input, a property that holds never panics. Built only with the
//! `props` feature; not part of the stable API.
//!
//! - [`check_elf`]: loading any byte string as an ELF gives a program or an [`crate::LoadError`]
//!   with a message, never a panic; a program that loads boots, runs under a small fuel and page
//!   budget without retiring more instructions than its fuel or owning more pages than its
//!   budget, and gives every page back to the pool.
//! - [`check_exec`]: any byte string run as RISC-V code (booted directly, and called in a fork of
//!   a template) ends with an [`Outcome`] within the fuel and page budgets; `x0` stays zero; a
//!   fork's writes are invisible to the template and to a sibling fork; every page goes back to
//!   the pool, which stays zeroed.
//!
//! [`elf_image`] builds the small two-segment ELF the exec property runs, for seeds and tests.

use shardbox_alloc::PagePool;

use crate::exec::TrapKind;
use crate::instance::{NullHost, Outcome};
use crate::program::{Config, Program};
use crate::template::Template;

/// Where [`elf_image`] loads code.
pub const TEXT: u64 = 0x10000;
/// Where [`elf_image`] loads data (read-write, [`DATA_BYTES`] in memory).
pub const DATA: u64 = 0x20000;
/// Size of the data segment in memory.
pub const DATA_BYTES: u64 = 0x4000;
/// Fuel of each run.
pub const FUEL: u64 = 20_000;
/// Page budget of each instance.
pub const PAGES: u32 = 24;

/// Budgets small enough that any input runs quickly.
pub fn small_config() -> Config {
    Config {
        pages_max: PAGES,
        template_pages_max: 256,
        stack_bytes: 64 << 10,
        brk_bytes: 256 << 10,
        heap_bytes: 256 << 10,
    }
}

/// An ELF64 RISC-V executable: `text` at [`TEXT`] (R+X, entry), `data` at [`DATA`] (R+W,
/// [`DATA_BYTES`] in memory, `data` truncated to fit), no section headers.
pub fn elf_image(text: &[u8], data: &[u8]) -> Vec<u8> {
    let data = data.get(..data.len().min(DATA_BYTES as usize)).unwrap_or_default();
    let mut out = vec![0u8; 64 + 2 * 56];
    let text_off = out.len() as u64;
    out.extend_from_slice(text);
    while !out.len().is_multiple_of(16) {
        out.push(0);
    }
    let data_off = out.len() as u64;
    out.extend_from_slice(data);
    let mut put = |at: usize, bytes: &[u8]| {
        if let Some(dst) = out.get_mut(at..at.saturating_add(bytes.len())) {
            dst.copy_from_slice(bytes);
        }
    };
    put(0, b"\x7fELF\x02\x01\x01");
    put(16, &2u16.to_le_bytes()); // ET_EXEC
    put(18, &243u16.to_le_bytes()); // EM_RISCV
    put(20, &1u32.to_le_bytes());
    put(24, &TEXT.to_le_bytes());
    put(32, &64u64.to_le_bytes()); // e_phoff
    put(52, &64u16.to_le_bytes());
    put(54, &56u16.to_le_bytes());
    put(56, &2u16.to_le_bytes());
    let segments = [
        (5u32, text_off, TEXT, text.len() as u64, (text.len() as u64).max(4)),
        (6, data_off, DATA, data.len() as u64, DATA_BYTES),
    ];
    for (i, (flags, off, vaddr, filesz, memsz)) in segments.into_iter().enumerate() {
        let at = 64 + 56 * i;
        put(at, &1u32.to_le_bytes()); // PT_LOAD
        put(at + 4, &flags.to_le_bytes());
        put(at + 8, &off.to_le_bytes());
        put(at + 16, &vaddr.to_le_bytes());
        put(at + 24, &vaddr.to_le_bytes());
        put(at + 32, &filesz.to_le_bytes());
        put(at + 40, &memsz.to_le_bytes());
        put(at + 48, &0x1000u64.to_le_bytes());
    }
    out
}

/// Loads `data` as an ELF file and, if it loads, boots and runs it (see the module doc).
pub fn check_elf(data: &[u8]) {
    let config = small_config();
    let program = match Program::load(data, &config) {
        Ok(p) => p,
        Err(e) => {
            assert!(!e.to_string().is_empty(), "an error says what is wrong");
            return;
        }
    };
    // The entry is in an executable segment, but maybe in its zero fill, which is not decoded.
    let decoded = program.code().index_of(program.entry()).is_some();
    let pool = PagePool::new(512);
    {
        let Ok(mut vm) = program.boot(&pool, &[b"fuzz"], &[b"A=1"], &mut NullHost) else {
            assert_eq!(pool.lent(), 0, "a failed boot gives its pages back");
            return;
        };
        let out = vm.run(FUEL, &mut NullHost);
        assert!(vm.instret() <= FUEL, "{out:?}: {} instructions retired", vm.instret());
        if !decoded {
            let fault = Outcome::Trap { kind: TrapKind::FetchFault, pc: program.entry() };
            assert_eq!(out, fault, "an entry outside the decoded code is a fetch fault");
        }
        assert!(vm.pages_owned() <= config.template_pages_max);
        assert_eq!(vm.cpu().x.first(), Some(&0), "x0 stays zero");
    }
    assert_eq!(pool.lent(), 0, "a dropped instance gives its pages back");
    pool.check_invariants();
}

/// Splits fuzz input into (register seed, code, data).
fn split(data: &[u8]) -> (u64, &[u8], &[u8]) {
    let (seed, rest) = data.split_at(data.len().min(8));
    let mut s = [0u8; 8];
    if let Some(dst) = s.get_mut(..seed.len()) {
        dst.copy_from_slice(seed);
    }
    let (code, init) = rest.split_at(rest.len().min((rest.len() / 4 * 3) & !3));
    (u64::from_le_bytes(s), code, init)
}

/// Register values derived from `seed`: some point into the data segment, the stack or the
/// code (so loads, stores and jumps often hit mapped memory), the rest are edge values and noise.
fn registers(seed: u64, sp: u64) -> [u64; 32] {
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let mut x = [0u64; 32];
    for (i, r) in x.iter_mut().enumerate().skip(1) {
        let noise = next();
        *r = match i.wrapping_add(seed as usize) % 8 {
            0 => DATA.wrapping_add(noise % DATA_BYTES),
            1 => sp.wrapping_sub(noise % 4096),
            2 => TEXT.wrapping_add(noise % 64 * 2),
            3 => {
                const EDGES: [u64; 6] = [0, 1, u64::MAX, i64::MIN as u64, i64::MAX as u64, 1 << 31];
                EDGES.get(noise as usize % EDGES.len()).copied().unwrap_or(0)
            }
            _ => noise,
        };
    }
    x[2] = sp;
    x
}

/// Runs `data` as code (see the module doc): the first 8 bytes seed the registers, the next
/// three quarters are the code, the rest the initial data.
pub fn check_exec(data: &[u8]) {
    let (seed, code, init) = split(data);
    let config = small_config();

    // 1. Booted directly, from the entry point.
    let image = elf_image(code, init);
    let program = Program::load(&image, &config).expect("the generated ELF loads");
    let pool = PagePool::new(256);
    {
        let mut vm = program.boot(&pool, &[b"x"], &[], &mut NullHost).expect("boots");
        let sp = vm.cpu().get(2);
        vm.cpu_mut().x[..32].copy_from_slice(&registers(seed, sp));
        let out = vm.run(FUEL, &mut NullHost);
        check_outcome(out, vm.instret(), FUEL);
        assert_eq!(vm.cpu().x.first(), Some(&0), "x0 stays zero ({out:?})");
    }
    assert_eq!(pool.lent(), 0, "a dropped instance gives its pages back");

    // 2. Called in forks of a template whose init only exits: `li a7, 93; li a0, 0; ecall`,
    //    then the code.
    let prelude: [u32; 3] = [0x05d0_0893, 0x0000_0513, 0x0000_0073];
    let mut text: Vec<u8> = prelude.iter().flat_map(|w| w.to_le_bytes()).collect();
    text.extend_from_slice(code);
    let image = elf_image(&text, init);
    let template =
        Template::new(&image, &config, &[b"x"], &[], 100, &mut NullHost).expect("init exits 0");
    let entry = TEXT + 12;
    let mut before = vec![0u8; DATA_BYTES as usize];
    {
        let mut probe = template.fork(&pool);
        probe.memory().read_bytes(DATA, &mut before).expect("data is readable");
    }
    {
        let mut a = template.fork(&pool);
        let sp = a.cpu().get(2);
        let regs = registers(seed, sp);
        let args: Vec<u64> = regs.iter().skip(10).take(8).copied().collect();
        let out = a.call(entry, &args, FUEL, &mut NullHost);
        check_outcome(out, a.instret(), FUEL);
        assert!(a.pages_owned() <= PAGES, "{} pages over a budget of {PAGES}", a.pages_owned());
        // A second call in the same instance still respects its fuel.
        let start = a.instret();
        let out = a.call(entry, &args, FUEL / 2, &mut NullHost);
        check_outcome(out, a.instret() - start, FUEL / 2);
        let mut sibling = template.fork(&pool);
        let mut seen = vec![0u8; DATA_BYTES as usize];
        sibling.memory().read_bytes(DATA, &mut seen).expect("data is readable");
        assert!(seen == before, "a fork's writes leaked into a sibling");
    }
    let mut after = vec![0u8; DATA_BYTES as usize];
    template.fork(&pool).memory().read_bytes(DATA, &mut after).expect("data is readable");
    assert!(after == before, "a fork's writes leaked into the template");
    assert_eq!(pool.lent(), 0, "dropped forks give their pages back");
    pool.check_invariants();
}

/// Fuel bounds instructions retired (host calls spend fuel too, so fewer may retire).
fn check_outcome(out: Outcome, retired: u64, fuel: u64) {
    assert!(retired <= fuel, "{out:?}: {retired} instructions retired on {fuel} fuel");
}
