//! ELF loading: each malformed or unsupported file gets its own typed error, the limits hold at
//! max and max + 1, and what loads boots where its header says.

use shardbox_vm::elf::ElfError;
use shardbox_vm::limits::{CODE_BYTES_MAX, ELF_LOADS_MAX};
use shardbox_vm::{Config, LoadError, NullHost, Outcome, PagePool, Program, TrapKind};

struct Seg {
    kind: u32,
    flags: u32,
    vaddr: u64,
    data: Vec<u8>,
    mem: u64,
}

fn load(vaddr: u64, flags: u32, data: &[u8], mem: u64) -> Seg {
    Seg { kind: 1, flags, vaddr, data: data.to_vec(), mem }
}

/// `addi a0, x0, 7; ecall` with a7 = 93 set by the caller's registers: here `li a7, 93` first.
const EXIT7: [u32; 3] = [0x05d0_0893, 0x0070_0513, 0x0000_0073];

fn code(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// An ELF64 RISC-V `ET_EXEC` with these program headers and entry.
fn build(entry: u64, segs: &[Seg]) -> Vec<u8> {
    let ph_end = 64 + 56 * segs.len();
    let mut out = vec![0u8; ph_end];
    out[..7].copy_from_slice(b"\x7fELF\x02\x01\x01");
    out[16..18].copy_from_slice(&2u16.to_le_bytes());
    out[18..20].copy_from_slice(&243u16.to_le_bytes());
    out[24..32].copy_from_slice(&entry.to_le_bytes());
    out[32..40].copy_from_slice(&64u64.to_le_bytes());
    out[52..54].copy_from_slice(&64u16.to_le_bytes());
    out[54..56].copy_from_slice(&56u16.to_le_bytes());
    out[56..58].copy_from_slice(&(segs.len() as u16).to_le_bytes());
    for (i, s) in segs.iter().enumerate() {
        let off = out.len() as u64;
        out.extend_from_slice(&s.data);
        let p = 64 + 56 * i;
        out[p..p + 4].copy_from_slice(&s.kind.to_le_bytes());
        out[p + 4..p + 8].copy_from_slice(&s.flags.to_le_bytes());
        out[p + 8..p + 16].copy_from_slice(&off.to_le_bytes());
        out[p + 16..p + 24].copy_from_slice(&s.vaddr.to_le_bytes());
        out[p + 24..p + 32].copy_from_slice(&s.vaddr.to_le_bytes());
        out[p + 32..p + 40].copy_from_slice(&(s.data.len() as u64).to_le_bytes());
        out[p + 40..p + 48].copy_from_slice(&s.mem.to_le_bytes());
        out[p + 48..p + 56].copy_from_slice(&0x1000u64.to_le_bytes());
    }
    out
}

fn elf_err(bytes: &[u8]) -> ElfError {
    match Program::load(bytes, &Config::default()) {
        Err(LoadError::Elf(e)) => e,
        other => panic!("expected an ELF error, got {other:?}"),
    }
}

fn run(bytes: &[u8]) -> Outcome {
    let program = Program::load(bytes, &Config::default()).expect("loads");
    let pool = PagePool::new(256);
    let mut vm = program.boot(&pool, &[b"t"], &[], &mut NullHost).expect("boots");
    vm.run(10_000, &mut NullHost)
}

#[test]
fn a_minimal_executable_runs_from_its_entry() {
    let text = code(&EXIT7);
    assert_eq!(run(&build(0x10000, &[load(0x10000, 5, &text, 12)])), Outcome::Exited(7));
    // Entry in the middle of a segment: skip the first word (a trap if executed).
    let mut text = code(&[0x0010_0073]);
    text.extend_from_slice(&code(&EXIT7));
    assert_eq!(run(&build(0x10004, &[load(0x10000, 5, &text, 16)])), Outcome::Exited(7));
}

#[test]
fn malformed_headers_get_their_own_errors() {
    let good = build(0x10000, &[load(0x10000, 5, &code(&EXIT7), 12)]);
    assert_eq!(elf_err(b""), ElfError::Truncated { what: "header" });
    assert_eq!(elf_err(&good[..63]), ElfError::Truncated { what: "header" });
    let mut bad = good.clone();
    bad[0] = b'X';
    assert_eq!(elf_err(&bad), ElfError::BadMagic);
    let mut bad = good.clone();
    bad[4] = 1; // ELFCLASS32
    assert!(matches!(elf_err(&bad), ElfError::WrongArch { class: 1, .. }));
    let mut bad = good.clone();
    bad[18] = 62; // x86-64
    assert!(matches!(elf_err(&bad), ElfError::WrongArch { machine: 62, .. }));
    let mut bad = good.clone();
    bad[16] = 4; // ET_CORE
    assert_eq!(elf_err(&bad), ElfError::NotExecutable(4));
    let mut bad = good.clone();
    bad[54] = 32;
    assert_eq!(elf_err(&bad), ElfError::BadPhentsize(32));
    // Program headers cut off by the end of the file.
    assert!(matches!(elf_err(&good[..64 + 20]), ElfError::Truncated { .. }), "phdrs cut");
    // A segment whose bytes lie past the end of the file.
    let mut bad = good.clone();
    bad[64 + 8..64 + 16].copy_from_slice(&(1u64 << 40).to_le_bytes());
    assert!(matches!(elf_err(&bad), ElfError::Truncated { .. }));
}

#[test]
fn segments_are_checked() {
    let text = code(&EXIT7);
    // W+X refused.
    assert_eq!(
        elf_err(&build(0x10000, &[load(0x10000, 7, &text, 12)])),
        ElfError::WriteExec { index: 0 }
    );
    // File size over memory size.
    assert!(matches!(
        elf_err(&build(0x10000, &[load(0x10000, 5, &text, 4)])),
        ElfError::BadSegment { index: 0, .. }
    ));
    // Overlapping segments.
    assert!(matches!(
        elf_err(&build(0x10000, &[load(0x10000, 5, &text, 12), load(0x10008, 6, &[1], 8)])),
        ElfError::Overlap { .. }
    ));
    // Entry outside any executable segment.
    assert_eq!(
        elf_err(&build(0x20000, &[load(0x10000, 5, &text, 12), load(0x20000, 6, &[1], 8)])),
        ElfError::BadEntry(0x20000)
    );
    // No loadable segment.
    let note = Seg { kind: 4, flags: 4, vaddr: 0, data: vec![0; 8], mem: 8 };
    assert_eq!(elf_err(&build(0x10000, &[note])), ElfError::NoSegments);
    // A dynamic loader is needed.
    let interp = Seg { kind: 3, flags: 4, vaddr: 0, data: b"/lib/ld.so\0".to_vec(), mem: 11 };
    assert_eq!(elf_err(&build(0x10000, &[interp, load(0x10000, 5, &text, 12)])), ElfError::Dynamic);
}

#[test]
fn load_segment_count_at_max_and_max_plus_one() {
    let text = code(&EXIT7);
    let segs = |n: usize| -> Vec<Seg> {
        let mut v = vec![load(0x10000, 5, &text, 12)];
        for i in 1..n {
            v.push(load(0x10000 + 0x1000 * i as u64, 6, &[i as u8], 8));
        }
        v
    };
    assert_eq!(run(&build(0x10000, &segs(ELF_LOADS_MAX))), Outcome::Exited(7));
    assert!(matches!(
        elf_err(&build(0x10000, &segs(ELF_LOADS_MAX + 1))),
        ElfError::TooMany { what: "load segments", .. }
    ));
}

#[test]
fn code_span_at_max_and_max_plus_one_and_zero_fill_is_not_decoded() {
    let text = code(&EXIT7);
    // One executable segment with a huge zero fill: only the file bytes are decoded, so this
    // loads at once; the span counts the fill.
    let at_max = build(0x10000, &[load(0x10000, 5, &text, CODE_BYTES_MAX)]);
    let start = std::time::Instant::now();
    assert_eq!(run(&at_max), Outcome::Exited(7));
    println!("load + run with a {CODE_BYTES_MAX}-byte code span: {:?}", start.elapsed());
    let over = build(0x10000, &[load(0x10000, 5, &text, CODE_BYTES_MAX + 1)]);
    assert!(matches!(
        Program::load(&over, &Config::default()),
        Err(LoadError::CodeTooLarge { span, max: CODE_BYTES_MAX }) if span == CODE_BYTES_MAX + 1
    ));
    // Jumping into the zero fill is a fetch fault at the target.
    let text = code(&[0x0000_106f]); // jal x0, +4096
    let out = run(&build(0x10000, &[load(0x10000, 5, &text, 0x4000)]));
    assert_eq!(out, Outcome::Trap { kind: TrapKind::FetchFault, pc: 0x11000 });
}

#[test]
fn symbols_are_resolved_at_load() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("guest/prebuilt/t-kernels.elf");
    let program =
        Program::load(&std::fs::read(path).expect("ELF"), &Config::default()).expect("loads");
    for name in ["empty", "touch", "count", "memwalk", "muldiv", "fib", "heap", "main"] {
        let addr = program.symbol(name).unwrap_or_else(|| panic!("{name} exported"));
        assert!(program.code().index_of(addr).is_some(), "{name} is in the code");
    }
    assert_eq!(program.symbol("no_such_symbol"), None);
}
