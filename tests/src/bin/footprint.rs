//! Footprint reporter: resident memory of a running Tandem master and backup next to
//! Debian's keepalived (its two processes: parent and VRRP child) on the same seed
//! topology.
//!
//! ```text
//! footprint [--bin PATH]... [--no-keepalived]      (as root; namespaces fp-*)
//! ```
//!
//! Rows, each from `/proc/<pid>/status` (VmRSS, VmHWM, RssAnon, RssFile) once the
//! pair has settled (r1 priority 150 started first: master; r2 100: backup) and
//! answered a few `tandem status` requests:
//! * every tandem binary: the host build the tests run (`$TANDEM_BIN` or
//!   `target/release/tandem`), the static musl router build when it exists
//!   (`cargo run -p size-report -- build x86_64`, or `$TANDEM_STATIC_BIN`), and any
//!   `--bin PATH`; each with the seed configuration (VRRP only) and with the tables
//!   configured (`tandem_sync` with `conntrack_capacity 16384`,
//!   `lease_capacity 1024` and a `lease_file`);
//! * keepalived with the seed configuration (VRRP only).
//!
//! The budget (issue 3) is 1.5 MiB for a master, meant for the static router build:
//! the host build's VmRSS also counts ≈ 1.9 MiB of shared glibc pages (RssFile).
//! Exit status 0 when every measurement could be made (the budget is the footprint
//! test's to assert), 1 otherwise.

#[path = "footprint/mem.rs"]
mod mem;

use std::path::PathBuf;
use std::process::ExitCode;

use mem::{measure, Mem, Tables, BUDGET_KIB};
use tandem_tests::ctsync::CtLab;
use tandem_tests::daemon::process_tree;
use tandem_tests::{keepalived_bin, require_root, Kind, RouterId, VrrpConf};
use RouterId::{R1, R2};

fn usage() -> ExitCode {
    eprintln!("usage: footprint [--bin PATH]... [--no-keepalived]");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut extra = Vec::new();
    let mut keepalived = true;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--bin" => match args.next() {
                Some(p) => extra.push(PathBuf::from(p)),
                None => return usage(),
            },
            "--no-keepalived" => keepalived = false,
            "-h" | "--help" => {
                usage();
                return ExitCode::SUCCESS;
            }
            _ => return usage(),
        }
    }
    if !require_root() {
        return ExitCode::FAILURE;
    }
    let mut bins = mem::binaries();
    for b in extra {
        if !bins.contains(&b) {
            bins.push(b);
        }
    }
    let confs = [
        VrrpConf::seed().priority(150),
        VrrpConf::seed().priority(100),
    ];
    let mut lab = match CtLab::new("fp", confs, true) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("footprint: cannot build the topology: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut rows = Vec::new();
    let mut failed = false;
    for (k, bin) in bins.iter().enumerate() {
        let size = std::fs::metadata(bin).map(|m| m.len()).unwrap_or(0);
        println!(
            "tandem {}: {} ({} bytes)",
            mem::describe(bin),
            bin.display(),
            size
        );
        for tables in [Tables::VrrpOnly, Tables::Full] {
            let what = match tables {
                Tables::VrrpOnly => "seed (VRRP only)",
                Tables::Full => "seed + ct 16384 + leases 1024",
            };
            match measure(&lab, bin, tables, &format!("fp{k}-{tables:?}"), &[]) {
                Ok((m, b)) => {
                    let label = format!("tandem {}, {what}", mem::describe(bin));
                    rows.push(mem::row(&format!("{label}, master"), &m));
                    rows.push(mem::row(&format!("{label}, backup"), &b));
                }
                Err(e) => {
                    failed = true;
                    eprintln!("footprint: {} with {what}: {e}", bin.display());
                }
            }
        }
    }
    if keepalived {
        println!("keepalived: {}", keepalived_bin().display());
        match keepalived_rows(&mut lab) {
            Ok((m, b)) => {
                rows.push(mem::row("keepalived, seed (VRRP only), master", &m));
                rows.push(mem::row("keepalived, seed (VRRP only), backup", &b));
            }
            Err(e) => {
                failed = true;
                eprintln!("footprint: keepalived: {e}");
            }
        }
    }
    println!("\n{}", mem::header());
    for r in &rows {
        println!("{r}");
    }
    println!(
        "\nbudget of a master: {BUDGET_KIB} KiB (static router build; VmHWM). \
         Figures in KiB from /proc/<pid>/status; keepalived: parent + VRRP child."
    );
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// keepalived on both routers (r1 elected master), both processes of each summed.
fn keepalived_rows(lab: &mut CtLab) -> Result<(Mem, Mem), String> {
    let p = lab.pair_mut();
    for r in RouterId::BOTH {
        p.set_kind(r, Kind::Keepalived);
        p.set_extra_conf(r, "");
    }
    p.elect(R1)?;
    std::thread::sleep(std::time::Duration::from_secs(1));
    let mut out = [Mem::default(); 2];
    for (i, r) in [R1, R2].into_iter().enumerate() {
        let tree = process_tree(p.daemon(r).pid());
        out[i] = Mem::sum(&tree).map_err(|e| e.to_string())?;
    }
    for r in RouterId::BOTH {
        p.daemon(r).terminate();
    }
    Ok((out[0], out[1]))
}
