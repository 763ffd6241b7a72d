//! `size-report setup`: installs what the cross builds need, from a clean machine.
//! Idempotent: each part checks first and prints one line when already done.
//!
//! 1. rustup: the pinned nightly with `rust-src` (for `-Zbuild-std`), the pinned
//!    stable with the x86_64/aarch64 musl and thumbv7em targets, Rust 1.71.1 with
//!    the two MIPS musl targets (only their C runtime files are used).
//! 2. apt: `qemu-user-static` (runs the binaries and tests), `file`.
//! 3. Debian armhf `musl-dev` + `libgcc-N-dev` .debs, downloaded (after
//!    `dpkg --add-architecture armhf`) and unpacked, never installed.
//! 4. Per-target runtime folders under the cross dir (see [`Ctx::cross_dir`]).

use crate::ctx::{capture, in_path, Ctx};
use crate::targets::{Runtime, TARGETS};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Runs every part of the setup. `apt = false` skips the parts that need root.
/// Prints one line when everything was already there.
pub fn setup(ctx: &Ctx, apt: bool) -> Result<(), String> {
    let t0 = Instant::now();
    let mut did = false;
    if rustup(ctx)? {
        ctx.record("setup: rustup toolchains/targets", t0);
        did = true;
    }
    if apt {
        let t1 = Instant::now();
        let a = apt_packages()?;
        if debs(ctx)? || a {
            ctx.record("setup: apt (qemu, armhf debs)", t1);
            did = true;
        }
    }
    let t2 = Instant::now();
    if sysroots(ctx, apt)? {
        ctx.record("setup: runtime folders", t2);
        did = true;
    }
    eprintln!(
        "setup: {} in {:.1} s (runtime files in {})",
        if did {
            "done"
        } else {
            "everything already present"
        },
        t0.elapsed().as_secs_f64(),
        ctx.cross_dir.display()
    );
    Ok(())
}

fn lines(cmd: &mut Command) -> Result<Vec<String>, String> {
    Ok(capture(cmd)?
        .lines()
        .map(|l| l.trim().to_string())
        .collect())
}

/// Returns whether anything was installed.
fn rustup(ctx: &Ctx) -> Result<bool, String> {
    if !in_path("rustup") {
        return Err("rustup is not on PATH: install it from https://rustup.rs first".into());
    }
    let installed = lines(Command::new("rustup").args(["toolchain", "list"]))?;
    let has = |tc: &str| installed.iter().any(|l| l.starts_with(&format!("{tc}-")));
    let mut did = Vec::new();
    // (toolchain, components, targets)
    let wanted: [(&str, &[&str], &[&str]); 3] = [
        (&ctx.nightly, &["rust-src"], &[]),
        (
            &ctx.stable,
            &[],
            &[
                "x86_64-unknown-linux-musl",
                "aarch64-unknown-linux-musl",
                "thumbv7em-none-eabihf",
            ],
        ),
        (
            &ctx.old,
            &[],
            &["mipsel-unknown-linux-musl", "mips-unknown-linux-musl"],
        ),
    ];
    for (tc, comps, tgts) in wanted {
        if !has(tc) {
            let mut c = Command::new("rustup");
            c.args([
                "toolchain",
                "install",
                tc,
                "--profile",
                "minimal",
                "--no-self-update",
            ]);
            for comp in comps {
                c.args(["--component", comp]);
            }
            run_retry(&format!("rustup toolchain install {tc}"), &mut c, 3)?;
            did.push(format!("toolchain {tc}"));
        }
        if !comps.is_empty() {
            let have = lines(Command::new("rustup").args([
                "component",
                "list",
                "--installed",
                "--toolchain",
                tc,
            ]))?;
            for comp in comps {
                if !have
                    .iter()
                    .any(|l| l == comp || l.starts_with(&format!("{comp}-")))
                {
                    let mut c = Command::new("rustup");
                    c.args(["component", "add", "--toolchain", tc, comp]);
                    run_retry(&format!("rustup component add {comp}"), &mut c, 3)?;
                    did.push(format!("{tc} {comp}"));
                }
            }
        }
        if !tgts.is_empty() {
            let have = lines(Command::new("rustup").args([
                "target",
                "list",
                "--installed",
                "--toolchain",
                tc,
            ]))?;
            let missing: Vec<&str> = tgts
                .iter()
                .copied()
                .filter(|t| !have.iter().any(|l| l == t))
                .collect();
            if !missing.is_empty() {
                let mut c = Command::new("rustup");
                c.args(["target", "add", "--toolchain", tc]).args(&missing);
                run_retry(
                    &format!("rustup target add {}", missing.join(" ")),
                    &mut c,
                    3,
                )?;
                did.push(format!("{tc} {}", missing.join(" ")));
            }
        }
    }
    if !did.is_empty() {
        eprintln!("setup: rustup: installed {}", did.join(", "));
    }
    Ok(!did.is_empty())
}

/// Runs `cmd` (output shown) up to `tries` times, 10 s apart.
fn run_retry(label: &str, cmd: &mut Command, tries: u32) -> Result<(), String> {
    for i in 1..=tries {
        eprintln!(
            "setup: {label}{}",
            if i > 1 {
                format!(" (try {i})")
            } else {
                String::new()
            }
        );
        match cmd.status() {
            Ok(s) if s.success() => return Ok(()),
            Ok(s) if i == tries => return Err(format!("{label} failed ({s})")),
            Err(e) => return Err(format!("{label}: {e}")),
            _ => std::thread::sleep(Duration::from_secs(10)),
        }
    }
    unreachable!("the loop returns")
}

fn is_root() -> bool {
    capture(Command::new("id").arg("-u")).is_ok_and(|s| s.trim() == "0")
}

const QEMUS: [&str; 4] = [
    "qemu-mipsel-static",
    "qemu-mips-static",
    "qemu-arm-static",
    "qemu-aarch64-static",
];

/// Returns whether anything was installed.
fn apt_packages() -> Result<bool, String> {
    let mut missing = Vec::new();
    if !QEMUS.iter().all(|q| in_path(q)) {
        missing.push("qemu-user-static");
    }
    if !in_path("file") {
        missing.push("file");
    }
    if missing.is_empty() {
        return Ok(false);
    }
    if !is_root() || !in_path("apt-get") {
        return Err(format!(
            "missing {}: install it (Debian/Ubuntu: `sudo apt-get install qemu-user-static file`) or run setup as root",
            missing.join(", ")
        ));
    }
    apt_update(|| missing.iter().all(|p| apt_knows(p)));
    let mut c = Command::new("apt-get");
    c.env("DEBIAN_FRONTEND", "noninteractive")
        .args([
            "-o",
            "DPkg::Lock::Timeout=300",
            "install",
            "-y",
            "-qq",
            "--no-install-recommends",
        ])
        .args(&missing);
    run_retry(&format!("apt-get install {}", missing.join(" ")), &mut c, 3)?;
    Ok(true)
}

/// `apt-get update` until `ready()` holds (3 tries, 10 s apart). Errors alone are not
/// fatal: foreign-architecture indexes fail transiently ("File has unexpected size ...
/// Mirror sync in progress?", seen here on bookworm-security armhf) while the index we
/// need is fine, so what counts is whether apt now knows the package we want.
fn apt_update(ready: impl Fn() -> bool) {
    for i in 1..=3 {
        let ok = Command::new("apt-get")
            .args([
                "-o",
                "DPkg::Lock::Timeout=300",
                "-o",
                "Acquire::Retries=3",
                "update",
                "-qq",
            ])
            .status()
            .is_ok_and(|s| s.success());
        if ready() {
            if !ok {
                eprintln!("setup: apt-get update reported errors, but the needed index is there: continuing");
            }
            return;
        }
        eprintln!("setup: apt-get update did not provide the needed index (try {i}/3)");
        if i < 3 {
            std::thread::sleep(Duration::from_secs(10));
        }
    }
    eprintln!("setup: warning: continuing with the package lists we have");
}

fn apt_knows(pkg: &str) -> bool {
    capture(Command::new("apt-cache").args(["show", pkg])).is_ok_and(|s| !s.trim().is_empty())
}

fn find_deb(dir: &Path, prefix: &str) -> Option<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix) && n.ends_with("_armhf.deb"))
        })
        .collect();
    v.sort();
    v.pop()
}

fn libgcc_deb(dir: &Path) -> Option<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.strip_prefix("libgcc-")
                    .and_then(|r| r.split_once("-dev_"))
                    .is_some_and(|(v, _)| v.bytes().all(|b| b.is_ascii_digit()))
                    && n.ends_with("_armhf.deb")
            })
        })
        .collect();
    v.sort();
    v.pop()
}

/// Which `libgcc-N-dev` to fetch: 12 (what was tested, Debian 12) when the index has
/// it, else the newest one the index knows.
fn libgcc_package() -> Result<String, String> {
    if let Ok(v) = std::env::var("TANDEM_ARMHF_LIBGCC") {
        return Ok(v);
    }
    if apt_knows("libgcc-12-dev:armhf") {
        return Ok("libgcc-12-dev".into());
    }
    let found =
        capture(Command::new("apt-cache").args(["search", "--names-only", "^libgcc-[0-9]+-dev$"]))?;
    let mut versions: Vec<u32> = found
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter_map(|n| {
            n.strip_prefix("libgcc-")?
                .strip_suffix("-dev")?
                .parse()
                .ok()
        })
        .collect();
    versions.sort_unstable();
    versions
        .last()
        .map(|v| format!("libgcc-{v}-dev"))
        .ok_or_else(|| "apt knows no libgcc-N-dev package".into())
}

/// Returns whether anything was downloaded.
fn debs(ctx: &Ctx) -> Result<bool, String> {
    let dir = ctx.cross_dir.join("debs");
    if find_deb(&dir, "musl-dev_").is_some() && libgcc_deb(&dir).is_some() {
        return Ok(false);
    }
    if !in_path("apt-get") || !in_path("dpkg") {
        return Err(
            "the armv7 runtime files come from Debian armhf packages: needs apt-get and dpkg"
                .into(),
        );
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if !apt_knows("musl-dev:armhf") {
        // Only this part needs root; `apt-get download` itself does not.
        if !is_root() {
            return Err("apt does not know armhf packages yet: run once `sudo dpkg --add-architecture armhf && sudo apt-get update` \
                 (or run setup as root), then setup again"
                .into());
        }
        let archs = capture(Command::new("dpkg").arg("--print-foreign-architectures"))?;
        if !archs.lines().any(|l| l.trim() == "armhf") {
            eprintln!("setup: dpkg --add-architecture armhf (only to download two .debs; nothing armhf is installed)");
            capture(Command::new("dpkg").args(["--add-architecture", "armhf"]))?;
        }
        apt_update(|| apt_knows("musl-dev:armhf"));
    }
    let libgcc = libgcc_package()?;
    for pkg in ["musl-dev".to_string(), libgcc] {
        let mut c = Command::new("apt-get");
        c.current_dir(&dir);
        if is_root() {
            // As root apt drops to the `_apt` user, which cannot write here.
            c.args(["-o", "APT::Sandbox::User=root"]);
        }
        c.args(["-o", "Acquire::Retries=3", "download", "-qq"])
            .arg(format!("{pkg}:armhf"));
        run_retry(&format!("apt-get download {pkg}:armhf"), &mut c, 3)?;
    }
    Ok(true)
}

fn copy_files(from: &Path, to: &Path, names: &[(&str, &str)]) -> Result<(), String> {
    for (src, dst) in names {
        let s = from.join(src);
        std::fs::copy(&s, to.join(dst)).map_err(|e| format!("copy {}: {e}", s.display()))?;
    }
    Ok(())
}

/// Returns whether any folder was (re)written.
fn sysroots(ctx: &Ctx, apt: bool) -> Result<bool, String> {
    let mut made = Vec::new();
    for t in TARGETS.iter() {
        let dest = ctx.sysroot(t);
        let (src, desc) = ctx.runtime_source(t)?;
        let stamp = dest.join(".source");
        if std::fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == desc)
            && dest.join("libc.a").is_file()
        {
            continue;
        }
        if t.runtime == Runtime::DebianArmhf && !apt {
            eprintln!(
                "setup: skipping {} (needs the armhf .debs: run setup without --no-apt)",
                t.triple
            );
            continue;
        }
        let _ = std::fs::remove_dir_all(&dest);
        std::fs::create_dir_all(&dest).map_err(|e| format!("{}: {e}", dest.display()))?;
        match t.runtime {
            Runtime::Rust171 | Runtime::Stable => {
                let entries =
                    std::fs::read_dir(&src).map_err(|e| format!("{}: {e}", src.display()))?;
                for e in entries.flatten() {
                    if e.path().is_file() {
                        std::fs::copy(e.path(), dest.join(e.file_name()))
                            .map_err(|err| format!("copy {}: {err}", e.path().display()))?;
                    }
                }
            }
            Runtime::DebianArmhf => {
                let x = ctx.cross_dir.join("debs/x");
                let _ = std::fs::remove_dir_all(&x);
                let musl = find_deb(&src, "musl-dev_").ok_or("musl-dev armhf .deb missing")?;
                let gcc = libgcc_deb(&src).ok_or("libgcc-N-dev armhf .deb missing")?;
                for deb in [&musl, &gcc] {
                    capture(Command::new("dpkg-deb").arg("-x").arg(deb).arg(&x))?;
                }
                let musl_lib = x.join("usr/lib/arm-linux-musleabihf");
                copy_files(
                    &musl_lib,
                    &dest,
                    &[
                        ("crt1.o", "crt1.o"),
                        ("crti.o", "crti.o"),
                        ("crtn.o", "crtn.o"),
                        ("Scrt1.o", "Scrt1.o"),
                        ("rcrt1.o", "rcrt1.o"),
                        ("libc.a", "libc.a"),
                    ],
                )?;
                let gcc_root = x.join("usr/lib/gcc/arm-linux-gnueabihf");
                let gcc_dir = std::fs::read_dir(&gcc_root)
                    .map_err(|e| format!("{}: {e}", gcc_root.display()))?
                    .flatten()
                    .map(|e| e.path())
                    .find(|p| p.join("crtbegin.o").is_file())
                    .ok_or("no crtbegin.o in the libgcc .deb")?;
                // gcc's libgcc_eh.a is the ARM EHABI unwinder std links as -lunwind.
                copy_files(
                    &gcc_dir,
                    &dest,
                    &[
                        ("crtbegin.o", "crtbegin.o"),
                        ("crtbeginS.o", "crtbeginS.o"),
                        ("crtend.o", "crtend.o"),
                        ("crtendS.o", "crtendS.o"),
                        ("libgcc_eh.a", "libunwind.a"),
                    ],
                )?;
                let _ = std::fs::remove_dir_all(&x);
            }
        }
        std::fs::write(&stamp, format!("{desc}\n"))
            .map_err(|e| format!("{}: {e}", stamp.display()))?;
        made.push(t.alias);
    }
    if !made.is_empty() {
        eprintln!("setup: runtime folders written for {}", made.join(", "));
    }
    Ok(!made.is_empty())
}
