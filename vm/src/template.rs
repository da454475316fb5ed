//! Frozen templates and O(1) forks; and running a whole program once.
//!
//! [`Template::new`] loads a program, boots it and runs its init (`_start` → `main` → `exit`)
//! under a fuel budget, then freezes what init left: the pages it wrote, its mappings, its
//! registers (including `gp`/`tp`, and `fcsr`: forks inherit the template's rounding mode and
//! accrued flags) and its `brk`/heap state. A `Template` has no `&mut` method: once built it
//! cannot change, and every fork borrows it (`&'t Template`, no reference count, no lock).
//!
//! [`Template::fork`] makes an [`Instance`] in O(1): it copies the registers (about 2.3 KB)
//! and borrows the template's page table, mappings and pre-decoded code; pages are copied only
//! when the fork first writes them, from the shard's [`PagePool`], within the fork's page
//! budget. Dropping the fork gives its pages back. [`run_program`] is the `vm run` path: load,
//! boot and run to exit, no template.
//!
//! ```no_run
//! # use shardbox_vm::{Config, Template, NullHost, Outcome, PagePool};
//! # let elf: &[u8] = &[];
//! let template = Template::new(elf, &Config::default(), &[b"tenant"], &[], 10_000_000, &mut NullHost)?;
//! let handle = template.symbol("handle").expect("exported");
//! let pool = PagePool::new(1 << 16);
//! let mut fork = template.fork(&pool);
//! let outcome = fork.call(handle, &[10], 1_000_000, &mut NullHost);
//! assert_eq!(outcome, Outcome::Returned(285));
//! # Ok::<(), shardbox_vm::TemplateError>(())
//! ```

use shardbox_alloc::PagePool;

use crate::cpu::Cpu;
use crate::instance::{Host, Instance, Os, Outcome};
use crate::memory::{Frozen, Memory, Regions};
use crate::program::{Config, LoadError, Program};

/// Why a template could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The program could not be loaded.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// Init did not exit with status 0.
    #[error("template init did not finish: {0:?}")]
    Init(Outcome),
}

/// A program after its init, frozen (see the module doc).
#[derive(Debug)]
pub struct Template {
    program: Program,
    frozen: Frozen,
    regions: Regions,
    cpu: Cpu,
    os: Os,
    init_instret: u64,
}

impl Template {
    /// Loads `elf`, runs its init with `argv`/`envp` under `init_fuel`, and freezes the result.
    pub fn new(
        elf: &[u8],
        config: &Config,
        argv: &[&[u8]],
        envp: &[&[u8]],
        init_fuel: u64,
        host: &mut dyn Host,
    ) -> Result<Template, TemplateError> {
        let mut program = Program::load(elf, config)?;
        let pool = PagePool::new(usize::try_from(config.template_pages_max).unwrap_or(usize::MAX));
        let (frozen, regions, mut cpu, os) = {
            let mut init = program.boot(&pool, argv, envp, host)?;
            match init.run(init_fuel, host) {
                Outcome::Exited(0) => {}
                other => return Err(TemplateError::Init(other)),
            }
            init.freeze()
        };
        program.forget_image();
        let init_instret = cpu.instret;
        cpu.instret = 0;
        cpu.reservation = None;
        Ok(Template { program, frozen, regions, cpu, os, init_instret })
    }

    /// A fork: an instance over this template, taking pages from `pool` (see the module doc).
    pub fn fork<'t>(&'t self, pool: &'t PagePool) -> Instance<'t> {
        let mem = Memory::new(&self.frozen, &self.regions, pool, self.program.config().pages_max);
        Instance::from_parts(self.cpu.clone(), mem, &self.program, self.os)
    }

    /// The address of an ELF symbol (resolved at load).
    pub fn symbol(&self, name: &str) -> Option<u64> {
        self.program.symbol(name)
    }

    /// The program.
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// Pages the template holds.
    pub fn pages(&self) -> usize {
        self.frozen.pages()
    }

    /// Instructions init retired.
    pub fn init_instret(&self) -> u64 {
        self.init_instret
    }
}

/// What [`run_program`] reports besides the outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Instructions retired.
    pub instret: u64,
    /// Pages the program wrote (owned at the end).
    pub pages: u32,
}

/// Loads `elf` and runs it from its entry point to exit under `fuel` (the `vm run` command).
pub fn run_program(
    elf: &[u8],
    config: &Config,
    argv: &[&[u8]],
    envp: &[&[u8]],
    fuel: u64,
    host: &mut dyn Host,
) -> Result<(Outcome, Stats), LoadError> {
    let program = Program::load(elf, config)?;
    let pool = PagePool::new(usize::try_from(config.template_pages_max).unwrap_or(usize::MAX));
    let mut vm = program.boot(&pool, argv, envp, host)?;
    let outcome = vm.run(fuel, host);
    Ok((outcome, Stats { instret: vm.instret(), pages: vm.pages_owned() }))
}
