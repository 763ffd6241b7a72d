//! `build`, `test`, `nostd` and `report`.

use crate::analyze::{self, Measure};
use crate::budget::{Budgets, KEYS};
use crate::ctx::{capture, in_path, show, Ctx};
use crate::elf::Elf;
use crate::json::{obj, s, Json};
use crate::targets::{Target, NOSTD_TARGETS, TARGETS};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// How the router binary is built, on top of the root `[profile.release]`
/// (opt-level z, fat LTO, one codegen unit, panic = abort).
#[derive(Debug, Clone, Default)]
pub struct BuildOpts {
    /// The `diag` flavour: panics print their message (and RUST_BACKTRACE=1 a list of
    /// frame addresses); costs ~140 KiB on MIPS. Default: the `small` flavour.
    pub diag: bool,
    /// `-Zbuild-std-features=` override (default: `optimize_for_size` for small,
    /// empty for diag; empty never includes `backtrace`, i.e. no symbolization).
    pub std_features: Option<String>,
    /// Run `tandem --version` (and `check -c FILE`) under qemu after building.
    pub run: bool,
    /// Config file for `tandem check -c` under qemu.
    pub check_config: Option<PathBuf>,
}

impl BuildOpts {
    /// `small` or `diag`.
    pub fn flavour(&self) -> &'static str {
        if self.diag {
            "diag"
        } else {
            "small"
        }
    }

    /// Extra cargo arguments and target rustflags of the flavour, for `t`.
    ///
    /// small:
    /// - `-Zpanic-immediate-abort` + `panic = "immediate-abort"`: a panic executes a
    ///   trap instruction at once (SIGILL/SIGTRAP, exit status 132/133): no message,
    ///   no location. Drops std's panic hook, the panic message formatting and the
    ///   unwinder it pulls in (LLVM libunwind and musl's printf).
    /// - `-Zbuild-std-features=optimize_for_size`: std picks smaller, slower
    ///   algorithms (sorting, integer formatting). No diagnosability cost.
    /// - `-C force-unwind-tables=no`: no `.eh_frame`. Nothing unwinds at run time
    ///   any more; gdb cannot walk the stack of a core dump without frame info.
    /// - MIPS: `-C relocation-model=static`: direct calls instead of calls through
    ///   the GOT (the MIPS binary is not position independent anyway; other targets
    ///   stay static-pie, keeping ASLR).
    ///
    /// Both: armv7 is built as Thumb-2 (`+thumb-mode`; all ARMv7-A cores, 29% smaller).
    ///
    /// diag: panic = abort with the message, `-Zbuild-std-features=` (empty: no
    /// backtrace symbolization; most of std's size), unwind tables kept.
    pub fn flavour_args(&self, t: &Target) -> (Vec<String>, Vec<String>) {
        let mut cargo = vec!["-Zbuild-std=std,panic_abort".to_string()];
        let mut rustflags = Vec::new();
        let default_features = if self.diag { "" } else { "optimize_for_size" };
        cargo.push(format!(
            "-Zbuild-std-features={}",
            self.std_features.as_deref().unwrap_or(default_features)
        ));
        if t.triple.starts_with("armv7") {
            // Thumb-2 (every ARMv7-A core has it): 29% smaller than ARM code.
            rustflags.extend(["-C".to_string(), "target-feature=+thumb-mode".to_string()]);
        }
        if !self.diag {
            cargo.extend([
                "-Zpanic-immediate-abort".to_string(),
                "--config".to_string(),
                "profile.release.panic=\"immediate-abort\"".to_string(),
            ]);
            rustflags.extend(["-C".to_string(), "force-unwind-tables=no".to_string()]);
            if t.triple.starts_with("mips") {
                rustflags.extend(["-C".to_string(), "relocation-model=static".to_string()]);
            }
        }
        (cargo, rustflags)
    }
}

/// A built binary.
pub struct Built {
    /// The target.
    pub target: &'static Target,
    /// With symbols (as linked; copied beside the stripped one).
    pub unstripped: PathBuf,
    /// What goes on the router.
    pub stripped: PathBuf,
    /// Wall-clock seconds of the cargo build.
    pub seconds: f64,
}

fn host_triple(tc: &str) -> Result<String, String> {
    let v = capture(Command::new("rustc").arg(format!("+{tc}")).arg("-vV"))?;
    v.lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(|h| h.trim().to_string())
        .ok_or_else(|| "rustc -vV: no host line".into())
}

/// Where the binaries of `t` end up: `<target dir>/router/<alias>[-diag]/`.
fn out_paths(ctx: &Ctx, t: &'static Target, o: &BuildOpts) -> Built {
    let dir = ctx.target_dir.join("router").join(if o.diag {
        format!("{}-diag", t.alias)
    } else {
        t.alias.to_string()
    });
    Built {
        target: t,
        unstripped: dir.join("tandem.unstripped"),
        stripped: dir.join("tandem"),
        seconds: 0.0,
    }
}

/// Builds `tandem` for `t`, writes the stripped copy, checks it is static and runs it.
pub fn build(ctx: &Ctx, t: &'static Target, o: &BuildOpts) -> Result<Built, String> {
    ctx.require_sysroot(t)?;
    let (cargo_args, rustflags) = o.flavour_args(t);
    let lib_dirs = if o.diag {
        Vec::new()
    } else {
        vec![no_unwinder(ctx, t)?]
    };
    let mut c = ctx.cross_cargo_libs(t, "build", &lib_dirs, &rustflags);
    c.args(["-p", "tandem", "--bin", "tandem", "--release"])
        .args(&cargo_args)
        // Keep the symbols for the report; the copy for the router is stripped below.
        .args(["--config", "profile.release.strip=false"]);
    let t0 = Instant::now();
    ctx.step(&format!("build {} ({})", t.alias, o.flavour()), &mut c)?;
    let mut built = out_paths(ctx, t, o);
    built.seconds = t0.elapsed().as_secs_f64();
    if ctx.dry_run {
        return Ok(built);
    }
    let linked = ctx.target_dir.join(t.triple).join("release/tandem");
    let dir = built.stripped.parent().expect("has a parent");
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    std::fs::copy(&linked, &built.unstripped).map_err(|e| format!("{}: {e}", linked.display()))?;
    strip(ctx, &built.unstripped, &built.stripped)?;
    check_static(&built.stripped)?;
    if o.run {
        smoke(ctx, t, &built.stripped, o.check_config.as_deref())?;
    }
    Ok(built)
}

/// A folder holding an empty `libunwind.a`, searched before the target's runtime
/// folder by small builds.
///
/// A small build never unwinds (panics abort at once and there are no unwind
/// tables), but std's unused personality routine still names `_Unwind_*`
/// symbols, so the linker takes the unwinder out of the real `libunwind.a`.
/// Its code is garbage-collected again, but the musl objects it drew in stay
/// (`assert` -> `stderr` -> stdio's exit-time flush, `fflush`, file locks):
/// ~1.6 KB on MIPS. With the empty archive nothing is extracted; should any
/// live code ever need the unwinder, the link fails with an undefined symbol
/// instead of building something that cannot work.
fn no_unwinder(ctx: &Ctx, t: &Target) -> Result<PathBuf, String> {
    let dir = ctx.sysroot(t).join("no-unwinder");
    let lib = dir.join("libunwind.a");
    if !lib.exists() {
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        // An ar archive without members: just the global header.
        std::fs::write(&lib, b"!<arch>\n").map_err(|e| format!("{}: {e}", lib.display()))?;
    }
    Ok(dir)
}

/// Writes `to`: `from` without symbols and without any section that is not loaded
/// at run time (`.comment`, `.pdr`, `.mdebug.*`, `.gnu.attributes`, `.ARM.attributes`...).
fn strip(ctx: &Ctx, from: &Path, to: &Path) -> Result<(), String> {
    let data = std::fs::read(from).map_err(|e| format!("{}: {e}", from.display()))?;
    let elf = Elf::parse(&data).map_err(|e| format!("{}: {e}", from.display()))?;
    let sysroot = ctx.toolchain_sysroot(&ctx.nightly)?;
    let objcopy = sysroot
        .join("lib/rustlib")
        .join(host_triple(&ctx.nightly)?)
        .join("bin/rust-objcopy");
    let mut c = Command::new(&objcopy);
    c.env("LD_LIBRARY_PATH", sysroot.join("lib"))
        .arg("--strip-all");
    for name in elf.non_alloc_sections() {
        c.arg(format!("--remove-section={name}"));
    }
    c.arg(from).arg(to);
    capture(&mut c)
        .map(|_| ())
        .map_err(|e| format!("strip: {e}"))
}

/// The binary must not need a dynamic loader; `file` must agree when installed.
fn check_static(path: &Path) -> Result<(), String> {
    let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let elf = Elf::parse(&data).map_err(|e| format!("{}: {e}", path.display()))?;
    if elf.linkage() == "dynamic" {
        return Err(format!(
            "{} is dynamically linked (has PT_INTERP)",
            path.display()
        ));
    }
    if in_path("file") {
        let f = capture(Command::new("file").arg("-b").arg(path))?;
        eprintln!("    file: {}", f.trim());
        if !(f.contains("statically linked") || f.contains("static-pie linked")) {
            return Err(format!(
                "`file` does not call {} static: {}",
                path.display(),
                f.trim()
            ));
        }
    }
    Ok(())
}

fn runner(t: &Target, bin: &Path) -> Command {
    match t.qemu {
        Some(q) => {
            let mut c = Command::new(q);
            c.arg(bin);
            c
        }
        None => Command::new(bin),
    }
}

/// `tandem --version` (and `tandem check -c FILE`) under qemu-user.
fn smoke(ctx: &Ctx, t: &Target, bin: &Path, config: Option<&Path>) -> Result<(), String> {
    if t.qemu.is_some_and(|q| !in_path(q)) {
        return Err(format!(
            "{} is not installed: run `cargo run -p size-report -- setup`",
            t.qemu.unwrap_or("")
        ));
    }
    let t0 = Instant::now();
    let mut c = runner(t, bin);
    c.arg("--version");
    let out = c.output().map_err(|e| format!("{}: {e}", show(&c)))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next().unwrap_or("").trim();
    eprintln!(
        "    $ {}\n    {}",
        show(&c),
        if first.is_empty() {
            "(no output)"
        } else {
            first
        }
    );
    if !out.status.success() {
        return Err(format!(
            "`{}` failed ({}): {}",
            show(&c),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    if !first.contains("tandem") {
        eprintln!("    warning: `tandem --version` does not print a version yet");
    }
    if let Some(cfg) = config {
        let mut c = runner(t, bin);
        c.args(["check", "-c"]).arg(cfg);
        let out = c.output().map_err(|e| format!("{}: {e}", show(&c)))?;
        let text = String::from_utf8_lossy(&out.stdout);
        eprintln!(
            "    $ {}\n    {}",
            show(&c),
            text.lines().last().unwrap_or("(no output)")
        );
        if !out.status.success() {
            return Err(format!(
                "`{}` failed ({}):\n{}{}",
                show(&c),
                out.status,
                text,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        // Negative control: a broken file must be rejected, or the check above proves
        // nothing (a miscompiled parser that accepts everything would pass it).
        let bad = ctx.target_dir.join("router/broken.conf");
        std::fs::write(
            &bad,
            "vrrp_instance VI_1 {\n    state MASTER\n    virtual_router_id 300\n",
        )
        .map_err(|e| format!("{}: {e}", bad.display()))?;
        let mut c = runner(t, bin);
        c.args(["check", "-c"]).arg(&bad);
        let out = c.output().map_err(|e| format!("{}: {e}", show(&c)))?;
        eprintln!("    $ {} -> {} (must fail)", show(&c), out.status);
        if out.status.success() || out.status.code().is_none() {
            return Err(format!(
                "`{}` must reject a broken file with an error exit, got {}:\n{}{}",
                show(&c),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    ctx.record(
        &format!("run {} under {}", t.alias, t.qemu.unwrap_or("the host")),
        t0,
    );
    Ok(())
}

/// `cargo test` of tandem-core and tandem-protocol for `t`, run by qemu-user.
pub fn test(ctx: &Ctx, t: &'static Target, extra: &[String]) -> Result<(), String> {
    ctx.require_sysroot(t)?;
    let mut c = ctx.cross_cargo(t, "test", &[]);
    c.args([
        "-p",
        "tandem-core",
        "-p",
        "tandem-protocol",
        "-Zbuild-std",
        "--no-fail-fast",
    ])
    // Unoptimized code (std included, with -Zbuild-std) under qemu is slow: the
    // armv7 suite took 115 s at opt-level 0 and 1.5 s at 1, while debug
    // assertions and overflow checks stay on. No debug info: faster links.
    .args([
        "--config",
        "profile.dev.opt-level=1",
        "--config",
        "profile.dev.debug=0",
    ])
    // Under qemu a panicking test spends seconds printing a backtrace.
    .env("RUST_BACKTRACE", "0");
    if !extra.is_empty() {
        c.arg("--").args(extra);
    }
    ctx.step(&format!("test {} (qemu)", t.alias), &mut c)
}

/// core and protocol for bare-metal targets, without and with `defmt`.
pub fn nostd(ctx: &Ctx) -> Result<(), String> {
    for (triple, build_std) in NOSTD_TARGETS {
        for defmt in [false, true] {
            let tc = if build_std { &ctx.nightly } else { &ctx.stable };
            let mut c = ctx.cargo(tc, "build");
            c.args([
                "-p",
                "tandem-core",
                "-p",
                "tandem-protocol",
                "--release",
                "--target",
                triple,
            ]);
            if build_std {
                // Only `core` exists: a dependency that needs `alloc` or `std` fails here.
                c.arg("-Zbuild-std=core");
            }
            if defmt {
                c.args(["--features", "tandem-core/defmt,tandem-protocol/defmt"]);
            }
            let label = format!("nostd {triple}{}", if defmt { " +defmt" } else { "" });
            ctx.step(&label, &mut c)?;
        }
    }
    Ok(())
}

/// One target's result in the report.
pub struct Row {
    /// The build.
    pub built: Built,
    /// Its measurements.
    pub m: Measure,
    /// (key, limit, value) for each budget of this target.
    pub budget: Vec<(String, u64, u64)>,
}

impl Row {
    /// Every budget holds.
    pub fn ok(&self) -> bool {
        self.budget.iter().all(|(_, limit, v)| v <= limit)
    }
}

/// Options of `report`.
pub struct ReportOpts {
    /// Budget file.
    pub budgets: PathBuf,
    /// Use what is already built.
    pub no_build: bool,
    /// Rows of crates / symbols to show.
    pub top: usize,
    /// JSON on stdout instead of tables.
    pub json: bool,
}

/// Builds (unless `no_build`), measures and checks budgets; returns the exit code.
pub fn report(
    ctx: &Ctx,
    targets: &[&'static Target],
    b: &BuildOpts,
    o: &ReportOpts,
) -> Result<i32, String> {
    let text =
        std::fs::read_to_string(&o.budgets).map_err(|e| format!("{}: {e}", o.budgets.display()))?;
    let budgets = Budgets::parse(&text).map_err(|e| format!("{}: {e}", o.budgets.display()))?;
    for name in budgets.tables.keys() {
        if crate::targets::find(name).is_none() {
            eprintln!(
                "warning: {}: [{name}] is not a known target",
                o.budgets.display()
            );
        }
    }
    let mut rows = Vec::new();
    for &t in targets {
        let built = if o.no_build {
            out_paths(ctx, t, b)
        } else {
            build(ctx, t, b)?
        };
        if ctx.dry_run {
            continue;
        }
        let read = |p: &Path| {
            std::fs::read(p).map_err(|e| format!("{}: {e} (build it first)", p.display()))
        };
        let m = analyze::measure(&read(&built.stripped)?, &read(&built.unstripped)?)
            .map_err(|e| format!("{}: {e}", built.stripped.display()))?;
        let mut budget = Vec::new();
        if let Some(limits) = budgets.for_target(t.alias, t.triple) {
            for key in KEYS {
                if let (Some(&limit), Some(v)) = (limits.get(key), m.value(key)) {
                    budget.push((key.to_string(), limit, v));
                }
            }
        }
        rows.push(Row { built, m, budget });
    }
    if ctx.dry_run {
        return Ok(0);
    }
    let ok = rows.iter().all(Row::ok);
    if o.json {
        println!("{}", to_json(ctx, &rows, b, ok));
    } else {
        print_tables(ctx, &rows, o.top, b);
    }
    if ok {
        Ok(0)
    } else if b.diag {
        eprintln!("size-report: over budget, but budgets apply to the small flavour only");
        Ok(0)
    } else {
        eprintln!("size-report: budget exceeded");
        Ok(1)
    }
}

/// `1234567` -> `1,234,567`.
pub fn commas(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn kib(n: u64) -> String {
    format!("{:.1} KiB", n as f64 / 1024.0)
}

fn shorten(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        name.to_string()
    } else {
        let mut s: String = name.chars().take(max - 1).collect();
        s.push('…');
        s
    }
}

fn rel<'a>(ctx: &Ctx, p: &'a Path) -> std::borrow::Cow<'a, str> {
    match p.strip_prefix(&ctx.ws) {
        Ok(r) => r.to_string_lossy(),
        Err(_) => p.to_string_lossy(),
    }
}

fn print_tables(ctx: &Ctx, rows: &[Row], top: usize, b: &BuildOpts) {
    for r in rows {
        let m = &r.m;
        println!(
            "\n## {} ({}, {}, {} flavour)",
            r.built.target.triple,
            m.format,
            m.linkage,
            b.flavour()
        );
        println!("binary: {}", rel(ctx, &r.built.stripped));
        println!("symbols: {}", rel(ctx, &r.built.unstripped));
        println!("| measure | bytes | KiB |");
        println!("|---|---:|---:|");
        for (label, v) in [
            ("stripped file", m.file_size),
            (".text", m.text),
            (".rodata", m.rodata),
            (".data", m.data),
            (".bss", m.bss),
            ("other sections", m.other),
        ] {
            println!("| {label} | {} | {:.1} |", commas(v), v as f64 / 1024.0);
        }
        let others: Vec<String> = m
            .sections
            .iter()
            .filter(|s| {
                ![".text", ".rodata", ".data", ".bss", ".sbss"].contains(&s.name.as_str())
                    && s.size > 0
            })
            .map(|s| format!("{} {}", s.name, commas(s.size)))
            .collect();
        if !others.is_empty() {
            println!("other sections: {}", others.join(", "));
        }
        println!("\nlargest crates (code + data, by defining crate):");
        println!("| crate | bytes | symbols |");
        println!("|---|---:|---:|");
        for c in m.crates.iter().take(top) {
            println!("| {} | {} | {} |", c.name, commas(c.size), c.count);
        }
        println!("\nlargest symbols:");
        println!("| bytes | crate | symbol |");
        println!("|---:|---|---|");
        for sy in m.symbols.iter().take(top) {
            println!(
                "| {} | {} | `{}` |",
                commas(sy.size),
                sy.krate,
                shorten(&sy.name, 110)
            );
        }
        for (key, limit, v) in &r.budget {
            println!(
                "budget {key}: {} of {} ({:.0}%) {}",
                commas(*v),
                commas(*limit),
                *v as f64 * 100.0 / *limit as f64,
                if v <= limit { "ok" } else { "EXCEEDED" }
            );
        }
    }
    println!("\n## summary\n");
    println!("| target | stripped | .text | .rodata | .data | .bss | budget |");
    println!("|---|---:|---:|---:|---:|---:|---|");
    for r in rows {
        let m = &r.m;
        let budget = match r.budget.iter().find(|(k, _, _)| k == "stripped") {
            Some((_, limit, v)) => format!(
                "{} {} / {} ({:.0}%)",
                if r.ok() { "ok" } else { "EXCEEDED" },
                kib(*v),
                kib(*limit),
                *v as f64 * 100.0 / *limit as f64
            ),
            None if r.budget.is_empty() => "none".into(),
            None => (if r.ok() { "ok" } else { "EXCEEDED" }).into(),
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {budget} |",
            r.built.target.alias,
            commas(m.file_size),
            commas(m.text),
            commas(m.rodata),
            commas(m.data),
            commas(m.bss)
        );
    }
}

fn to_json(ctx: &Ctx, rows: &[Row], b: &BuildOpts, ok: bool) -> Json {
    let targets = rows
        .iter()
        .map(|r| {
            let m = &r.m;
            obj([
                ("target", s(r.built.target.alias)),
                ("triple", s(r.built.target.triple)),
                ("path", s(rel(ctx, &r.built.stripped))),
                ("format", s(m.format.clone())),
                ("linkage", s(m.linkage)),
                ("stripped", Json::Int(m.file_size)),
                ("text", Json::Int(m.text)),
                ("rodata", Json::Int(m.rodata)),
                ("data", Json::Int(m.data)),
                ("bss", Json::Int(m.bss)),
                ("other", Json::Int(m.other)),
                (
                    "sections",
                    Json::Arr(
                        m.sections
                            .iter()
                            .map(|x| {
                                obj([
                                    ("name", s(x.name.clone())),
                                    ("size", Json::Int(x.size)),
                                    ("class", s(x.class)),
                                ])
                            })
                            .collect(),
                    ),
                ),
                (
                    "crates",
                    Json::Arr(
                        m.crates
                            .iter()
                            .map(|c| {
                                obj([
                                    ("name", s(c.name.clone())),
                                    ("size", Json::Int(c.size)),
                                    ("symbols", Json::Int(c.count as u64)),
                                ])
                            })
                            .collect(),
                    ),
                ),
                (
                    "symbols",
                    Json::Arr(
                        m.symbols
                            .iter()
                            .take(50)
                            .map(|c| {
                                obj([
                                    ("name", s(c.name.clone())),
                                    ("crate", s(c.krate.clone())),
                                    ("size", Json::Int(c.size)),
                                ])
                            })
                            .collect(),
                    ),
                ),
                (
                    "budget",
                    Json::Arr(
                        r.budget
                            .iter()
                            .map(|(k, limit, v)| {
                                obj([
                                    ("key", s(k.clone())),
                                    ("limit", Json::Int(*limit)),
                                    ("value", Json::Int(*v)),
                                    ("ok", Json::Bool(v <= limit)),
                                ])
                            })
                            .collect(),
                    ),
                ),
                ("ok", Json::Bool(r.ok())),
                (
                    "build_seconds",
                    if r.built.seconds > 0.0 {
                        Json::Float(r.built.seconds)
                    } else {
                        Json::Null
                    },
                ),
            ])
        })
        .collect();
    obj([
        ("ok", Json::Bool(ok)),
        ("flavour", s(b.flavour())),
        ("nightly", s(ctx.nightly.clone())),
        ("targets", Json::Arr(targets)),
    ])
}

/// Known aliases, for the help text.
pub fn aliases() -> String {
    TARGETS
        .iter()
        .map(|t| t.alias)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formatting() {
        assert_eq!(commas(0), "0");
        assert_eq!(commas(999), "999");
        assert_eq!(commas(1000), "1,000");
        assert_eq!(commas(262_144), "262,144");
        assert_eq!(commas(1_234_567), "1,234,567");
        assert_eq!(shorten("abcdef", 4), "abc…");
    }
}
