//! Measures a built binary: section sizes from the stripped file, contributors from
//! the symbol table of the unstripped one.

use crate::demangle::demangle;
use crate::elf::{self, Elf, SHF_EXECINSTR, SHF_WRITE, SHT_NOBITS, STT_FUNC, STT_OBJECT};
use std::collections::{BTreeMap, HashSet};

/// One allocated section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionSize {
    /// Section name.
    pub name: String,
    /// Bytes in memory.
    pub size: u64,
    /// `text` (executable), `ro`, `rw` or `bss` (no file bytes).
    pub class: &'static str,
}

/// A group of symbols (a crate) or a single symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contributor {
    /// Crate name or readable symbol name.
    pub name: String,
    /// Crate the symbol belongs to (same as `name` for a crate row).
    pub krate: String,
    /// Bytes (code + data).
    pub size: u64,
    /// Number of symbols.
    pub count: usize,
}

/// Everything the report says about one binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Measure {
    /// Size of the stripped file (what goes on the router's flash).
    pub file_size: u64,
    /// `.text`.
    pub text: u64,
    /// `.rodata`.
    pub rodata: u64,
    /// `.data`.
    pub data: u64,
    /// `.bss` (+ `.sbss` on MIPS).
    pub bss: u64,
    /// Every other allocated section (`.eh_frame`, `.data.rel.ro`, `.got`, ...).
    pub other: u64,
    /// All allocated sections.
    pub sections: Vec<SectionSize>,
    /// Crates, largest first; the last row may be the unattributed rest.
    pub crates: Vec<Contributor>,
    /// Symbols, largest first.
    pub symbols: Vec<Contributor>,
    /// `static`, `static-pie` or `dynamic`.
    pub linkage: &'static str,
    /// Class, machine and byte order, e.g. `ELF32 MIPS big-endian`.
    pub format: String,
}

/// Label of the bytes that no sized symbol covers.
pub const UNATTRIBUTED: &str = "(no symbol: padding, asm, headers)";

/// Measures `stripped` (sections, file size) and `unstripped` (symbols).
pub fn measure(stripped: &[u8], unstripped: &[u8]) -> Result<Measure, elf::Error> {
    let s = Elf::parse(stripped)?;
    let u = Elf::parse(unstripped)?;
    let mut m = Measure {
        file_size: stripped.len() as u64,
        text: 0,
        rodata: 0,
        data: 0,
        bss: 0,
        other: 0,
        sections: Vec::new(),
        crates: Vec::new(),
        symbols: Vec::new(),
        linkage: s.linkage(),
        format: format!(
            "ELF{} {} {}-endian",
            if s.is_64 { 64 } else { 32 },
            s.machine_name(),
            if s.big_endian { "big" } else { "little" }
        ),
    };
    for sec in s.sections.iter().filter(|x| x.is_alloc()) {
        let class = if sec.kind == SHT_NOBITS {
            "bss"
        } else if sec.flags & SHF_EXECINSTR != 0 {
            "text"
        } else if sec.flags & SHF_WRITE != 0 {
            "rw"
        } else {
            "ro"
        };
        match sec.name.as_str() {
            ".text" => m.text += sec.size,
            ".rodata" => m.rodata += sec.size,
            ".data" => m.data += sec.size,
            ".bss" | ".sbss" => m.bss += sec.size,
            _ => m.other += sec.size,
        }
        m.sections.push(SectionSize {
            name: sec.name.clone(),
            size: sec.size,
            class,
        });
    }

    // Symbols: functions and objects with a size, aliases (same address) counted once.
    let mut seen = HashSet::new();
    let mut crates: BTreeMap<String, (u64, usize)> = BTreeMap::new();
    let mut attributed = 0;
    for sym in &u.symbols {
        if sym.size == 0 || !(sym.kind == STT_FUNC || sym.kind == STT_OBJECT) {
            continue;
        }
        if sym.shndx == 0 || sym.shndx >= 0xff00 || !seen.insert((sym.shndx, sym.addr)) {
            continue;
        }
        let (name, krate) = demangle(&sym.name);
        let e = crates.entry(krate.clone()).or_default();
        e.0 += sym.size;
        e.1 += 1;
        attributed += sym.size;
        m.symbols.push(Contributor {
            name,
            krate,
            size: sym.size,
            count: 1,
        });
    }
    m.symbols
        .sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.name.cmp(&b.name)));
    m.crates = crates
        .into_iter()
        .map(|(k, (size, count))| Contributor {
            name: k.clone(),
            krate: k,
            size,
            count,
        })
        .collect();
    m.crates
        .sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.name.cmp(&b.name)));
    let total: u64 = m.sections.iter().map(|s| s.size).sum();
    if total > attributed {
        m.crates.push(Contributor {
            name: UNATTRIBUTED.to_string(),
            krate: UNATTRIBUTED.to_string(),
            size: total - attributed,
            count: 0,
        });
    }
    Ok(m)
}

impl Measure {
    /// The measured value for a budget key (see [`crate::budget::KEYS`]).
    pub fn value(&self, key: &str) -> Option<u64> {
        Some(match key {
            "stripped" => self.file_size,
            "text" => self.text,
            "rodata" => self.rodata,
            "data" => self.data,
            "bss" => self.bss,
            _ => return None,
        })
    }
}
