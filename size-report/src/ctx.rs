//! Paths, pinned toolchains, and how every cargo/rustup/apt command is run and timed.

use crate::targets::{Runtime, Target};
use std::cell::RefCell;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// Nightly used for `-Zbuild-std` (MIPS and ARMv7 have no prebuilt std).
/// `rustc 1.97.0-nightly (e50aa6fba 2026-05-19)`. Override: `TANDEM_NIGHTLY`.
pub const NIGHTLY: &str = "nightly-2026-05-20";
/// Stable toolchain: thumbv7em no_std proof, x86_64/aarch64 musl C runtime files.
/// Override: `TANDEM_STABLE`.
pub const STABLE: &str = "1.95.0";
/// Last release whose rust-std for the MIPS musl targets exists; only its C runtime
/// files are used. Override: `TANDEM_MIPS_RUNTIME_TOOLCHAIN`.
pub const OLD: &str = "1.71.1";

/// Everything a command needs to know about the machine and the checkout.
pub struct Ctx {
    /// Workspace root (holds the root `Cargo.toml`).
    pub ws: PathBuf,
    /// Cargo's target directory for this workspace.
    pub target_dir: PathBuf,
    /// Per-target C runtime folders and the cached .deb files:
    /// `$TANDEM_CROSS_DIR`, else `<target dir>/cross-sysroot`.
    pub cross_dir: PathBuf,
    /// Nightly toolchain name.
    pub nightly: String,
    /// Stable toolchain name.
    pub stable: String,
    /// Old toolchain name (MIPS runtime files).
    pub old: String,
    /// `-j` passed to every cargo.
    pub jobs: Option<String>,
    /// Print commands instead of running cargo.
    pub dry_run: bool,
    /// Appended to every cross target's rustflags (`--rustflags`).
    pub extra_rustflags: Vec<String>,
    /// (label, seconds) of every timed step, in order.
    pub timings: RefCell<Vec<(String, f64)>>,
}

fn env_or(var: &str, default: &str) -> String {
    std::env::var(var)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

impl Ctx {
    /// Finds the workspace and its target directory.
    pub fn new(jobs: Option<String>, dry_run: bool) -> Result<Ctx, String> {
        let ws = find_workspace()?;
        let target_dir = target_dir(&ws)?;
        let cross_dir = std::env::var_os("TANDEM_CROSS_DIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| target_dir.join("cross-sysroot"));
        Ok(Ctx {
            ws,
            target_dir,
            cross_dir,
            nightly: env_or("TANDEM_NIGHTLY", NIGHTLY),
            stable: env_or("TANDEM_STABLE", STABLE),
            old: env_or("TANDEM_MIPS_RUNTIME_TOOLCHAIN", OLD),
            jobs,
            dry_run,
            extra_rustflags: Vec::new(),
            timings: RefCell::new(Vec::new()),
        })
    }

    /// Folder with crt*.o, libc.a and libunwind.a for `t`.
    pub fn sysroot(&self, t: &Target) -> PathBuf {
        self.cross_dir.join(t.triple)
    }

    /// A `cargo +toolchain` command in the workspace, with flags from the
    /// environment that would override ours removed.
    pub fn cargo(&self, toolchain: &str, sub: &str) -> Command {
        let mut c = Command::new("cargo");
        c.arg(format!("+{toolchain}"))
            .arg(sub)
            .current_dir(&self.ws);
        for var in [
            "RUSTFLAGS",
            "CARGO_ENCODED_RUSTFLAGS",
            "RUSTDOCFLAGS",
            "CARGO_ENCODED_RUSTDOCFLAGS",
            "RUSTC",
            "RUSTDOC",
            "RUSTC_WRAPPER",
            "RUSTC_WORKSPACE_WRAPPER",
            "CARGO_BUILD_TARGET",
        ] {
            if std::env::var_os(var).is_some() {
                eprintln!("note: ignoring {var} from the environment for this build");
                c.env_remove(var);
            }
        }
        if let Some(j) = &self.jobs {
            c.arg("-j").arg(j);
        }
        c
    }

    /// `cargo +nightly <sub> --target T` with the linker, rustflags, rustdocflags and
    /// runner of `t` given as `--config` flags (nothing is written to .cargo/).
    /// `rustflags` are added to the target's own.
    pub fn cross_cargo(&self, t: &Target, sub: &str, rustflags: &[String]) -> Command {
        self.cross_cargo_libs(t, sub, &[], rustflags)
    }

    /// As [`Ctx::cross_cargo`], with `lib_dirs` searched for native libraries before
    /// the target's runtime folder.
    pub fn cross_cargo_libs(
        &self,
        t: &Target,
        sub: &str,
        lib_dirs: &[PathBuf],
        rustflags: &[String],
    ) -> Command {
        let mut c = self.cargo(&self.nightly, sub);
        c.args(["--target", t.triple]);
        for cfg in self.cross_config(t, lib_dirs, rustflags) {
            c.arg("--config").arg(cfg);
        }
        c
    }

    /// The `--config` values for `t`; `lib_dirs` come first in the library search path.
    pub fn cross_config(
        &self,
        t: &Target,
        lib_dirs: &[PathBuf],
        rustflags: &[String],
    ) -> Vec<String> {
        let mut flags: Vec<String> = Vec::new();
        if t.force_crt_static {
            flags.extend(["-C".into(), "target-feature=+crt-static".into()]);
        }
        for d in lib_dirs {
            flags.extend(["-L".into(), format!("native={}", d.display())]);
        }
        flags.extend(["-L".into(), format!("native={}", self.sysroot(t).display())]);
        if t.page_4k {
            flags.extend(["-C".into(), "link-arg=-zmax-page-size=4096".into()]);
        }
        flags.extend(rustflags.iter().cloned());
        flags.extend(self.extra_rustflags.iter().cloned());
        let mut out = vec![
            format!("target.{}.linker={}", t.triple, toml_str("rust-lld")),
            format!("target.{}.rustflags={}", t.triple, toml_array(&flags)),
            // Doc-tests are linked (and run) for the target too. With --target,
            // build.rustdocflags only reaches target units.
            format!("build.rustdocflags={}", toml_array(&flags)),
        ];
        if let Some(q) = t.qemu {
            out.push(format!("target.{}.runner={}", t.triple, toml_str(q)));
        }
        out
    }

    /// Runs `cmd` with inherited output, timing it under `label`.
    pub fn step(&self, label: &str, cmd: &mut Command) -> Result<(), String> {
        eprintln!("==> {label}\n    $ {}", show(cmd));
        if self.dry_run {
            return Ok(());
        }
        let t0 = Instant::now();
        let status = cmd
            .status()
            .map_err(|e| format!("{label}: cannot run {:?}: {e}", cmd.get_program()))?;
        let secs = t0.elapsed().as_secs_f64();
        self.timings.borrow_mut().push((label.to_string(), secs));
        eprintln!("    [{label}: {secs:.1} s]");
        if status.success() {
            Ok(())
        } else {
            Err(format!("{label} failed ({status})"))
        }
    }

    /// Records the time of a step that was not a single command.
    pub fn record(&self, label: &str, t0: Instant) {
        let secs = t0.elapsed().as_secs_f64();
        self.timings.borrow_mut().push((label.to_string(), secs));
    }

    /// Prints the timing table to stderr.
    pub fn print_timings(&self) {
        let t = self.timings.borrow();
        if t.is_empty() {
            return;
        }
        eprintln!("\ntimings (wall clock):");
        let mut total = 0.0;
        for (label, secs) in t.iter() {
            eprintln!("  {secs:8.1} s  {label}");
            total += secs;
        }
        eprintln!("  {total:8.1} s  total");
    }

    /// Sysroot of a toolchain (`rustc +tc --print sysroot`).
    pub fn toolchain_sysroot(&self, tc: &str) -> Result<PathBuf, String> {
        let out = capture(
            Command::new("rustc")
                .arg(format!("+{tc}"))
                .args(["--print", "sysroot"]),
        )?;
        Ok(PathBuf::from(out.trim()))
    }

    /// Where `t`'s runtime files come from, and a description written to `.source`.
    pub fn runtime_source(&self, t: &Target) -> Result<(PathBuf, String), String> {
        match t.runtime {
            Runtime::Rust171 | Runtime::Stable => {
                let tc = if t.runtime == Runtime::Rust171 {
                    &self.old
                } else {
                    &self.stable
                };
                let dir = self
                    .toolchain_sysroot(tc)?
                    .join("lib/rustlib")
                    .join(t.triple)
                    .join("lib/self-contained");
                Ok((
                    dir,
                    format!("rust {tc} rust-std {} lib/self-contained", t.triple),
                ))
            }
            Runtime::DebianArmhf => Ok((
                self.cross_dir.join("debs"),
                "debian armhf musl-dev + libgcc-dev".into(),
            )),
        }
    }

    /// Fails with a hint when `size-report setup` has not prepared `t`.
    pub fn require_sysroot(&self, t: &Target) -> Result<(), String> {
        if self.dry_run || self.sysroot(t).join("libc.a").is_file() {
            Ok(())
        } else {
            Err(format!(
                "{} has no C runtime files in {}: run `cargo run -p size-report -- setup` first",
                t.triple,
                self.sysroot(t).display()
            ))
        }
    }
}

/// Workspace root: the nearest directory above the current one whose `Cargo.toml`
/// has a `[workspace]` with a `size-report/` beside it; else the parent of this
/// crate's manifest as it was when compiled. (The current directory comes first:
/// two checkouts sharing a target dir can share one size-report binary.)
fn find_workspace() -> Result<PathBuf, String> {
    let is_ws = |d: &Path| {
        d.join("size-report").is_dir()
            && std::fs::read_to_string(d.join("Cargo.toml"))
                .is_ok_and(|s| s.contains("[workspace]"))
    };
    if let Ok(mut dir) = std::env::current_dir() {
        loop {
            if is_ws(&dir) {
                return Ok(dir);
            }
            if !dir.pop() {
                break;
            }
        }
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    if is_ws(&built) {
        return built.canonicalize().map_err(|e| e.to_string());
    }
    Err("cannot find the Tandem workspace: run from inside the checkout".into())
}

/// Cargo's target directory (honours CARGO_TARGET_DIR and build.target-dir).
fn target_dir(ws: &Path) -> Result<PathBuf, String> {
    let out = capture(
        Command::new("cargo")
            .args([
                "metadata",
                "--no-deps",
                "--format-version",
                "1",
                "--offline",
            ])
            .current_dir(ws),
    )?;
    let key = "\"target_directory\":\"";
    let start = out.find(key).ok_or("cargo metadata: no target_directory")? + key.len();
    let end = out[start..]
        .find('"')
        .ok_or("cargo metadata: bad target_directory")?
        + start;
    Ok(PathBuf::from(out[start..end].replace("\\\\", "\\")))
}

/// Runs a command, returns its stdout; stderr is shown on failure.
pub fn capture(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {:?}: {e}", cmd.get_program()))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "`{}` failed ({}): {}",
            show(cmd),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Is `prog` on PATH?
pub fn in_path(prog: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(prog).is_file()))
}

/// A command line as a shell would need it.
pub fn show(cmd: &Command) -> String {
    let mut parts = vec![quote(cmd.get_program())];
    parts.extend(cmd.get_args().map(quote));
    parts.join(" ")
}

fn quote(s: &OsStr) -> String {
    let s = s.to_string_lossy();
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_=+./:,@%".contains(c))
    {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// A TOML basic string.
pub fn toml_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// A TOML array of strings.
pub fn toml_array(items: &[String]) -> String {
    let v: Vec<String> = items.iter().map(|s| toml_str(s)).collect();
    format!("[{}]", v.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(
            toml_array(&["-L".into(), "native=/a \"b\"\\c".into()]),
            r#"["-L", "native=/a \"b\"\\c"]"#
        );
        let mut c = Command::new("cargo");
        c.args([
            "build",
            "-Zbuild-std-features=",
            "target.x.runner=\"q\"",
            "it's",
        ]);
        assert_eq!(
            show(&c),
            r#"cargo build -Zbuild-std-features= 'target.x.runner="q"' 'it'\''s'"#
        );
    }
}
