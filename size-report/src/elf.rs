//! Just enough of ELF to measure a binary: section headers, program headers and
//! the symbol table, for ELF32 and ELF64 in either byte order. Never panics on
//! malformed input: every read is bounds-checked and reported as an [`Error`].

use std::fmt;

/// Section flag: occupies memory at run time.
pub const SHF_ALLOC: u64 = 0x2;
/// Section flag: writable at run time.
pub const SHF_WRITE: u64 = 0x1;
/// Section flag: executable.
pub const SHF_EXECINSTR: u64 = 0x4;
/// Section type: no bytes in the file (`.bss`).
pub const SHT_NOBITS: u32 = 8;
/// Section type: symbol table.
pub const SHT_SYMTAB: u32 = 2;
/// Program header type: dynamic linking information.
pub const PT_DYNAMIC: u32 = 2;
/// Program header type: path of the program interpreter (dynamic loader).
pub const PT_INTERP: u32 = 3;
/// Symbol type: data object.
pub const STT_OBJECT: u8 = 1;
/// Symbol type: function.
pub const STT_FUNC: u8 = 2;
/// Machine: 32-bit ARM (function addresses carry the Thumb bit).
pub const EM_ARM: u16 = 40;

/// What was wrong with the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Does not start with `\x7fELF`.
    NotElf,
    /// `EI_CLASS` / `EI_DATA` hold an unknown value.
    UnknownClass(u8, u8),
    /// A header, table or string points outside the file.
    Truncated(&'static str),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotElf => f.write_str("not an ELF file"),
            Error::UnknownClass(c, d) => write!(f, "unknown ELF class {c} / data encoding {d}"),
            Error::Truncated(what) => write!(f, "truncated or corrupt ELF: {what} out of bounds"),
        }
    }
}

impl std::error::Error for Error {}

/// One section header, with its name resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Name from `.shstrtab`.
    pub name: String,
    /// `sh_type`.
    pub kind: u32,
    /// `sh_flags`.
    pub flags: u64,
    /// `sh_addr`.
    pub addr: u64,
    /// `sh_offset`.
    pub offset: u64,
    /// `sh_size` (memory size; for `SHT_NOBITS` nothing is in the file).
    pub size: u64,
    /// `sh_link`.
    pub link: u32,
}

impl Section {
    /// Loaded into memory at run time.
    pub fn is_alloc(&self) -> bool {
        self.flags & SHF_ALLOC != 0
    }
}

/// One program header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// `p_type`.
    pub kind: u32,
}

/// One symbol of `.symtab`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    /// Raw (mangled) name.
    pub name: String,
    /// `st_value`, with the Thumb bit cleared on ARM functions.
    pub addr: u64,
    /// `st_size`.
    pub size: u64,
    /// `STT_*` (low nibble of `st_info`).
    pub kind: u8,
    /// `st_shndx`.
    pub shndx: u16,
}

/// A parsed ELF file.
#[derive(Debug, Clone)]
pub struct Elf {
    /// `ELFCLASS64`.
    pub is_64: bool,
    /// `ELFDATA2MSB`.
    pub big_endian: bool,
    /// `e_machine`.
    pub machine: u16,
    /// All section headers (index 0 is the null section).
    pub sections: Vec<Section>,
    /// All program headers.
    pub segments: Vec<Segment>,
    /// `.symtab` entries (empty when stripped).
    pub symbols: Vec<Symbol>,
}

struct Reader<'a> {
    data: &'a [u8],
    big: bool,
    is_64: bool,
}

impl Reader<'_> {
    fn bytes(&self, off: u64, len: usize, what: &'static str) -> Result<&[u8], Error> {
        let start = usize::try_from(off).map_err(|_| Error::Truncated(what))?;
        let end = start.checked_add(len).ok_or(Error::Truncated(what))?;
        self.data.get(start..end).ok_or(Error::Truncated(what))
    }
    fn u8(&self, off: u64, what: &'static str) -> Result<u8, Error> {
        Ok(self.bytes(off, 1, what)?[0])
    }
    fn u16(&self, off: u64, what: &'static str) -> Result<u16, Error> {
        let b: [u8; 2] = self.bytes(off, 2, what)?.try_into().expect("length 2");
        Ok(if self.big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }
    fn u32(&self, off: u64, what: &'static str) -> Result<u32, Error> {
        let b: [u8; 4] = self.bytes(off, 4, what)?.try_into().expect("length 4");
        Ok(if self.big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }
    fn u64(&self, off: u64, what: &'static str) -> Result<u64, Error> {
        let b: [u8; 8] = self.bytes(off, 8, what)?.try_into().expect("length 8");
        Ok(if self.big {
            u64::from_be_bytes(b)
        } else {
            u64::from_le_bytes(b)
        })
    }
    /// A word: 4 bytes in ELF32, 8 in ELF64.
    fn word(&self, off: u64, what: &'static str) -> Result<u64, Error> {
        if self.is_64 {
            self.u64(off, what)
        } else {
            self.u32(off, what).map(u64::from)
        }
    }
    fn cstr(&self, table: &Section, off: u32, what: &'static str) -> Result<String, Error> {
        if u64::from(off) >= table.size {
            return Err(Error::Truncated(what));
        }
        let tab = self.bytes(table.offset, table.size as usize, what)?;
        let rest = &tab[off as usize..];
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        Ok(String::from_utf8_lossy(&rest[..end]).into_owned())
    }
}

impl Elf {
    /// Parses the headers and the symbol table of `data`.
    pub fn parse(data: &[u8]) -> Result<Elf, Error> {
        if data.len() < 16 || &data[..4] != b"\x7fELF" {
            return Err(Error::NotElf);
        }
        let (is_64, big) = match (data[4], data[5]) {
            (1, 1) => (false, false),
            (1, 2) => (false, true),
            (2, 1) => (true, false),
            (2, 2) => (true, true),
            (c, d) => return Err(Error::UnknownClass(c, d)),
        };
        let r = Reader { data, big, is_64 };
        let machine = r.u16(18, "e_machine")?;
        // Offsets of e_phoff.. in the file header differ by class.
        let (phoff, shoff, rest) = if is_64 {
            (r.u64(32, "e_phoff")?, r.u64(40, "e_shoff")?, 52)
        } else {
            (
                u64::from(r.u32(28, "e_phoff")?),
                u64::from(r.u32(32, "e_shoff")?),
                40,
            )
        };
        let phentsize = u64::from(r.u16(rest + 2, "e_phentsize")?);
        let phnum = u64::from(r.u16(rest + 4, "e_phnum")?);
        let shentsize = u64::from(r.u16(rest + 6, "e_shentsize")?);
        let shnum = u64::from(r.u16(rest + 8, "e_shnum")?);
        let shstrndx = usize::from(r.u16(rest + 10, "e_shstrndx")?);

        let mut segments = Vec::new();
        for i in 0..phnum {
            let off = phoff + i * phentsize;
            segments.push(Segment {
                kind: r.u32(off, "program header")?,
            });
        }

        let mut sections = Vec::new();
        let mut names = Vec::new();
        for i in 0..shnum {
            let off = shoff + i * shentsize;
            let w = if is_64 { 8 } else { 4 };
            // name, type, flags, addr, offset, size, link: flags onwards are words.
            names.push(r.u32(off, "section header")?);
            sections.push(Section {
                name: String::new(),
                kind: r.u32(off + 4, "section header")?,
                flags: r.word(off + 8, "section header")?,
                addr: r.word(off + 8 + w, "section header")?,
                offset: r.word(off + 8 + 2 * w, "section header")?,
                size: r.word(off + 8 + 3 * w, "section header")?,
                link: r.u32(off + 8 + 4 * w, "section header")?,
            });
        }
        if let Some(strtab) = sections.get(shstrndx).cloned() {
            for (s, &n) in sections.iter_mut().zip(&names) {
                s.name = r.cstr(&strtab, n, "section name")?;
            }
        }

        let mut symbols = Vec::new();
        if let Some(symtab) = sections.iter().find(|s| s.kind == SHT_SYMTAB) {
            let strtab = sections
                .get(symtab.link as usize)
                .ok_or(Error::Truncated("symbol string table"))?;
            let entsize = if is_64 { 24 } else { 16 };
            for i in 0..symtab.size / entsize {
                let off = symtab.offset + i * entsize;
                let name_off = r.u32(off, "symbol")?;
                let (addr, size, info, shndx) = if is_64 {
                    (
                        r.u64(off + 8, "symbol")?,
                        r.u64(off + 16, "symbol")?,
                        r.u8(off + 4, "symbol")?,
                        r.u16(off + 6, "symbol")?,
                    )
                } else {
                    (
                        u64::from(r.u32(off + 4, "symbol")?),
                        u64::from(r.u32(off + 8, "symbol")?),
                        r.u8(off + 12, "symbol")?,
                        r.u16(off + 14, "symbol")?,
                    )
                };
                let kind = info & 0xf;
                let addr = if machine == EM_ARM && kind == STT_FUNC {
                    addr & !1
                } else {
                    addr
                };
                symbols.push(Symbol {
                    name: r.cstr(strtab, name_off, "symbol name")?,
                    addr,
                    size,
                    kind,
                    shndx,
                });
            }
        }
        Ok(Elf {
            is_64,
            big_endian: big,
            machine,
            sections,
            segments,
            symbols,
        })
    }

    /// Name of `e_machine` for the targets Tandem supports.
    pub fn machine_name(&self) -> String {
        match self.machine {
            8 => "MIPS".into(),
            EM_ARM => "ARM".into(),
            62 => "x86-64".into(),
            183 => "AArch64".into(),
            m => format!("machine {m}"),
        }
    }

    /// The section called `name`, if any.
    #[cfg(test)]
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// How the file is linked: `static`, `static-pie` or `dynamic`.
    pub fn linkage(&self) -> &'static str {
        if self.segments.iter().any(|s| s.kind == PT_INTERP) {
            "dynamic"
        } else if self.segments.iter().any(|s| s.kind == PT_DYNAMIC) {
            "static-pie"
        } else {
            "static"
        }
    }

    /// Names of sections that are not loaded at run time and that `objcopy` may drop
    /// (everything without `SHF_ALLOC` except the section-name table).
    pub fn non_alloc_sections(&self) -> Vec<&str> {
        self.sections
            .iter()
            .skip(1)
            .filter(|s| !s.is_alloc() && s.name != ".shstrtab" && !s.name.is_empty())
            .map(|s| s.name.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a tiny ELF in memory: header, one PT_LOAD, sections
    /// [null, .text, .bss, .symtab, .strtab, .shstrtab].
    fn build(is_64: bool, big: bool, machine: u16, interp: bool) -> Vec<u8> {
        let put16 = |v: &mut Vec<u8>, x: u16| {
            v.extend_from_slice(&if big {
                x.to_be_bytes()
            } else {
                x.to_le_bytes()
            })
        };
        let put32 = |v: &mut Vec<u8>, x: u32| {
            v.extend_from_slice(&if big {
                x.to_be_bytes()
            } else {
                x.to_le_bytes()
            })
        };
        let put64 = |v: &mut Vec<u8>, x: u64| {
            v.extend_from_slice(&if big {
                x.to_be_bytes()
            } else {
                x.to_le_bytes()
            })
        };
        let putw = |v: &mut Vec<u8>, x: u64| {
            if is_64 {
                put64(v, x)
            } else {
                put32(v, x as u32)
            }
        };
        let ehsize: u64 = if is_64 { 64 } else { 52 };
        let phentsize: u64 = if is_64 { 56 } else { 32 };
        let shentsize: u64 = if is_64 { 64 } else { 40 };
        let nph = if interp { 2 } else { 1 };
        let shstrtab = b"\0.text\0.bss\0.symtab\0.strtab\0.shstrtab\0".to_vec();
        let strtab = b"\0main\0BUF\0".to_vec();
        let symsize: u64 = if is_64 { 24 } else { 16 };
        let text_off = ehsize + nph * phentsize;
        let text = vec![0u8; 12];
        let symtab_off = text_off + text.len() as u64;
        let nsyms = 3u64;
        let strtab_off = symtab_off + nsyms * symsize;
        let shstr_off = strtab_off + strtab.len() as u64;
        let shoff = shstr_off + shstrtab.len() as u64;

        let mut v = b"\x7fELF".to_vec();
        v.push(if is_64 { 2 } else { 1 });
        v.push(if big { 2 } else { 1 });
        v.push(1);
        v.resize(16, 0);
        put16(&mut v, 2); // ET_EXEC
        put16(&mut v, machine);
        put32(&mut v, 1);
        putw(&mut v, 0x1000); // entry
        putw(&mut v, ehsize); // phoff
        putw(&mut v, shoff);
        put32(&mut v, 0); // flags
        put16(&mut v, ehsize as u16);
        put16(&mut v, phentsize as u16);
        put16(&mut v, nph as u16);
        put16(&mut v, shentsize as u16);
        put16(&mut v, 6);
        put16(&mut v, 5);
        assert_eq!(v.len() as u64, ehsize);
        for kind in [1u32, PT_INTERP].iter().take(nph as usize) {
            let start = v.len();
            put32(&mut v, *kind);
            v.resize(start + phentsize as usize, 0);
        }
        v.extend_from_slice(&text);
        // symbols: null, main (FUNC, size 9, thumb bit), BUF (OBJECT in .bss, size 64)
        let sym = |v: &mut Vec<u8>, name: u32, value: u64, size: u64, info: u8, shndx: u16| {
            put32(v, name);
            if is_64 {
                v.push(info);
                v.push(0);
                put16(v, shndx);
                put64(v, value);
                put64(v, size);
            } else {
                put32(v, value as u32);
                put32(v, size as u32);
                v.push(info);
                v.push(0);
                put16(v, shndx);
            }
        };
        sym(&mut v, 0, 0, 0, 0, 0);
        sym(&mut v, 1, 0x1001, 9, 0x10 | STT_FUNC, 1);
        sym(&mut v, 6, 0x2000, 64, 0x10 | STT_OBJECT, 2);
        v.extend_from_slice(&strtab);
        v.extend_from_slice(&shstrtab);
        assert_eq!(v.len() as u64, shoff);
        let sh = |v: &mut Vec<u8>,
                  name: u32,
                  kind: u32,
                  flags: u64,
                  addr: u64,
                  off: u64,
                  size: u64,
                  link: u32| {
            put32(v, name);
            put32(v, kind);
            putw(v, flags);
            putw(v, addr);
            putw(v, off);
            putw(v, size);
            put32(v, link);
            put32(v, 0);
            putw(v, 1);
            putw(v, 0);
        };
        sh(&mut v, 0, 0, 0, 0, 0, 0, 0);
        sh(
            &mut v,
            1,
            1,
            SHF_ALLOC | SHF_EXECINSTR,
            0x1000,
            text_off,
            12,
            0,
        );
        sh(
            &mut v,
            7,
            SHT_NOBITS,
            SHF_ALLOC | SHF_WRITE,
            0x2000,
            0,
            64,
            0,
        );
        sh(&mut v, 12, SHT_SYMTAB, 0, 0, symtab_off, nsyms * symsize, 4);
        sh(&mut v, 20, 3, 0, 0, strtab_off, strtab.len() as u64, 0);
        sh(&mut v, 28, 3, 0, 0, shstr_off, shstrtab.len() as u64, 0);
        v
    }

    #[test]
    fn all_classes_and_byte_orders() {
        for is_64 in [false, true] {
            for big in [false, true] {
                let data = build(is_64, big, EM_ARM, false);
                let elf = Elf::parse(&data).unwrap();
                assert_eq!(
                    (elf.is_64, elf.big_endian, elf.machine),
                    (is_64, big, EM_ARM)
                );
                let names: Vec<_> = elf.sections.iter().map(|s| s.name.as_str()).collect();
                assert_eq!(
                    names,
                    ["", ".text", ".bss", ".symtab", ".strtab", ".shstrtab"]
                );
                assert_eq!(elf.section(".text").unwrap().size, 12);
                let bss = elf.section(".bss").unwrap();
                assert_eq!((bss.kind, bss.size, bss.addr), (SHT_NOBITS, 64, 0x2000));
                assert_eq!(elf.symbols.len(), 3);
                let main = &elf.symbols[1];
                assert_eq!(
                    (main.name.as_str(), main.addr, main.size),
                    ("main", 0x1000, 9)
                );
                assert_eq!(main.kind, STT_FUNC);
                let buf = &elf.symbols[2];
                assert_eq!(
                    (buf.name.as_str(), buf.size, buf.kind, buf.shndx),
                    ("BUF", 64, STT_OBJECT, 2)
                );
                assert_eq!(elf.linkage(), "static");
                assert_eq!(elf.non_alloc_sections(), [".symtab", ".strtab"]);
            }
        }
    }

    #[test]
    fn interpreter_means_dynamic() {
        let elf = Elf::parse(&build(false, true, 8, true)).unwrap();
        assert_eq!(elf.linkage(), "dynamic");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert_eq!(Elf::parse(b"hello").unwrap_err(), Error::NotElf);
        let mut bad = build(true, false, 62, false);
        bad[5] = 9;
        assert_eq!(Elf::parse(&bad).unwrap_err(), Error::UnknownClass(2, 9));
        let good = build(true, false, 62, false);
        for len in 0..good.len() {
            let _ = Elf::parse(&good[..len]);
        }
        let mut flipped = good.clone();
        for i in 16..flipped.len().min(64) {
            flipped[i] = 0xff;
            let _ = Elf::parse(&flipped);
        }
    }
}
