//! size-report: builds Tandem for every router target, runs it and its unit tests
//! under qemu-user, proves `core` and `protocol` are no_std, and reports flash use
//! against the budgets in `size-report/budgets.toml`. See `size-report/README.md`.

mod analyze;
mod budget;
mod commands;
mod ctx;
mod demangle;
mod elf;
mod json;
mod setup;
mod targets;

use commands::{BuildOpts, ReportOpts};
use ctx::Ctx;
use std::path::PathBuf;
use std::time::Instant;

const USAGE: &str = "\
size-report: cross builds, qemu tests, no_std proof and flash budgets for Tandem

usage: cargo run -p size-report -- <command> [options] [target...]

commands:
  setup            install toolchains, targets, qemu-user-static and the C runtime
                   files for every target (idempotent; apt parts need root)
  build [T...]     build the static `tandem` binary (default: all targets), strip it,
                   check it is static and run `tandem --version` under qemu
  test [T...]      unit tests of tandem-core and tandem-protocol under qemu
                   (default: mips armv7) [-- <test harness args>]
  report [T...]    build, then print sizes, largest crates/symbols and budgets
                   (default: all targets); exit 1 when a budget is exceeded
  nostd            build tandem-core + tandem-protocol for thumbv7em-none-eabihf and
                   mipsel-unknown-none (-Zbuild-std=core), without and with defmt
  ci               setup, nostd, report mipsel, test mips armv7 (what CI runs)
  help             this text

targets: mipsel, mips, armv7, aarch64, x86_64, all (or full triples)

options:
  -j N                 jobs for every cargo invocation
  --diag               build the `diag` flavour: panics print their message (bigger);
                       default: the `small` flavour (a panic traps silently)
  --std-features LIST  -Zbuild-std-features value (small: optimize_for_size; diag: empty)
  --check-config FILE  `tandem check -c FILE` under qemu after each build (default:
                       tests/fixtures/seed-keepalived.conf), plus a broken file that must fail
  --no-run             do not run the binary after building
  --json               report: JSON on stdout
  --budgets FILE       report: budget file (default: size-report/budgets.toml)
  --no-build           report: measure what is already built
  --top N              report: rows of crates and symbols (default 12)
  --no-apt             setup: skip the parts that need root (apt, armhf .debs)
  --rustflags FLAGS    extra rustflags for the cross targets (space-separated)
  --dry-run            print the commands, run nothing

environment: TANDEM_NIGHTLY, TANDEM_STABLE, TANDEM_MIPS_RUNTIME_TOOLCHAIN (toolchain pins),
  TANDEM_CROSS_DIR (runtime files; default <target dir>/cross-sysroot), CARGO_TARGET_DIR";

struct Args {
    cmd: String,
    targets: Vec<String>,
    rest: Vec<String>,
    jobs: Option<String>,
    build: BuildOpts,
    json: bool,
    budgets: Option<PathBuf>,
    no_build: bool,
    top: usize,
    apt: bool,
    dry_run: bool,
    rustflags: Vec<String>,
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut a = Args {
        cmd: String::new(),
        targets: Vec::new(),
        rest: Vec::new(),
        jobs: None,
        build: BuildOpts {
            run: true,
            ..BuildOpts::default()
        },
        json: false,
        budgets: None,
        no_build: false,
        top: 12,
        apt: true,
        dry_run: false,
        rustflags: Vec::new(),
    };
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "-j" | "--jobs" => a.jobs = Some(value("-j")?),
            "--diag" => a.build.diag = true,
            "--std-features" => a.build.std_features = Some(value("--std-features")?),
            "--check-config" => {
                a.build.check_config = Some(PathBuf::from(value("--check-config")?))
            }
            "--no-run" => a.build.run = false,
            "--json" => a.json = true,
            "--budgets" => a.budgets = Some(PathBuf::from(value("--budgets")?)),
            "--no-build" => a.no_build = true,
            "--top" => {
                a.top = value("--top")?
                    .parse()
                    .map_err(|_| "--top needs a number")?
            }
            "--no-apt" => a.apt = false,
            "--dry-run" => a.dry_run = true,
            "--rustflags" => a
                .rustflags
                .extend(value("--rustflags")?.split_whitespace().map(String::from)),
            "-h" | "--help" => a.cmd = "help".into(),
            "--" => {
                a.rest = it.collect();
                break;
            }
            s if s.starts_with("--std-features=") => {
                a.build.std_features = Some(s["--std-features=".len()..].into())
            }
            s if s.starts_with("-j") && s.len() > 2 => a.jobs = Some(s[2..].into()),
            s if s.starts_with('-') => return Err(format!("unknown option {s}\n\n{USAGE}")),
            s if a.cmd.is_empty() => a.cmd = s.into(),
            s => a.targets.push(s.into()),
        }
    }
    Ok(a)
}

fn run() -> Result<i32, String> {
    let a = parse_args(std::env::args().skip(1))?;
    if a.cmd.is_empty() || a.cmd == "help" {
        println!("{USAGE}");
        return Ok(if a.cmd.is_empty() { 2 } else { 0 });
    }
    let mut ctx = Ctx::new(a.jobs.clone(), a.dry_run)?;
    ctx.extra_rustflags = a.rustflags.clone();
    let mut build_opts = a.build.clone();
    if build_opts.check_config.is_none() {
        // The seed configuration the integration tests use, when present.
        let seed = ctx.ws.join("tests/fixtures/seed-keepalived.conf");
        if seed.is_file() {
            build_opts.check_config = Some(seed);
        }
    }
    let report_opts = ReportOpts {
        budgets: a
            .budgets
            .clone()
            .unwrap_or_else(|| ctx.ws.join("size-report/budgets.toml")),
        no_build: a.no_build,
        top: a.top,
        json: a.json,
    };
    let t0 = Instant::now();
    let code = match a.cmd.as_str() {
        "setup" => {
            setup::setup(&ctx, a.apt)?;
            0
        }
        "build" => {
            for t in targets::resolve(&a.targets, &["all"])? {
                let b = commands::build(&ctx, t, &build_opts)?;
                if ctx.dry_run {
                    continue;
                }
                let size = std::fs::metadata(&b.stripped).map(|m| m.len()).unwrap_or(0);
                println!(
                    "{}: {} ({} bytes)",
                    t.triple,
                    b.stripped.display(),
                    commands::commas(size)
                );
            }
            0
        }
        "test" => {
            // Every target runs even when an earlier one failed.
            let mut failed = Vec::new();
            for t in targets::resolve(&a.targets, &["mips", "armv7"])? {
                if let Err(e) = commands::test(&ctx, t, &a.rest) {
                    failed.push(e);
                }
            }
            for e in &failed {
                eprintln!("size-report test: FAILED: {e}");
            }
            i32::from(!failed.is_empty())
        }
        "report" => commands::report(
            &ctx,
            &targets::resolve(&a.targets, &["all"])?,
            &build_opts,
            &report_opts,
        )?,
        "nostd" => {
            commands::nostd(&ctx)?;
            0
        }
        "ci" => {
            // Every stage runs even when an earlier one failed; all failures are
            // listed at the end.
            setup::setup(&ctx, a.apt)?;
            let mut failed = Vec::new();
            if let Err(e) = commands::nostd(&ctx) {
                failed.push(e);
            }
            let sized = targets::resolve(&a.targets, &["mipsel"])?;
            match commands::report(&ctx, &sized, &build_opts, &report_opts) {
                Ok(0) => {}
                Ok(_) => failed.push("size budget exceeded".into()),
                Err(e) => failed.push(e),
            }
            for t in targets::resolve(&[], &["mips", "armv7"])? {
                if let Err(e) = commands::test(&ctx, t, &a.rest) {
                    failed.push(e);
                }
            }
            for e in &failed {
                eprintln!("size-report ci: FAILED: {e}");
            }
            i32::from(!failed.is_empty())
        }
        other => {
            return Err(format!(
                "unknown command `{other}` (targets: {})\n\n{USAGE}",
                commands::aliases()
            ))
        }
    };
    ctx.print_timings();
    eprintln!("size-report {}: {:.1} s", a.cmd, t0.elapsed().as_secs_f64());
    Ok(code)
}

fn main() {
    let code = match run() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("size-report: error: {e}");
            2
        }
    };
    std::process::exit(code);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Args {
        parse_args(s.split_whitespace().map(String::from)).unwrap()
    }

    #[test]
    fn command_line() {
        let a = args("report mipsel mips --json -j 1 --top 5 --diag");
        assert_eq!(a.cmd, "report");
        assert_eq!(a.targets, ["mipsel", "mips"]);
        assert!(a.json && a.build.diag && a.build.run);
        assert_eq!((a.jobs.as_deref(), a.top), (Some("1"), 5));
        let a = args("test mips -- --nocapture foo");
        assert_eq!(a.rest, ["--nocapture", "foo"]);
        let a = args("build --std-features=optimize_for_size -j2 --no-run");
        assert_eq!(a.build.std_features.as_deref(), Some("optimize_for_size"));
        assert_eq!(a.jobs.as_deref(), Some("2"));
        assert!(!a.build.run);
        assert!(parse_args(["build".to_string(), "--bogus".to_string()].into_iter()).is_err());
    }
}
