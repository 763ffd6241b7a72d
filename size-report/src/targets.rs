//! The router targets Tandem is built for, and what each one needs.

/// Where a target's C runtime files (crt*.o, musl `libc.a`, `libunwind.a`) come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    /// `lib/self-contained` of Rust 1.71.1's rust-std: the last release where the
    /// MIPS musl targets were tier 2 (soft-float musl 1.2.3 + LLVM libunwind).
    Rust171,
    /// `lib/self-contained` of the pinned stable toolchain's rust-std.
    Stable,
    /// Debian's `musl-dev:armhf` and `libgcc-N-dev:armhf` (crtbegin/crtend, and
    /// `libgcc_eh.a` used as `libunwind.a`), unpacked, not installed.
    DebianArmhf,
}

/// A Linux router target: a static musl binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// Short name used on the command line and in `budgets.toml`.
    pub alias: &'static str,
    /// Rust target triple.
    pub triple: &'static str,
    /// qemu-user binary that runs it (`None`: runs natively on an x86_64 host).
    pub qemu: Option<&'static str>,
    /// Source of the C runtime files.
    pub runtime: Runtime,
    /// The target spec defaults to dynamic linking: force `+crt-static`.
    pub force_crt_static: bool,
    /// lld's default max page size for this architecture is 64 KiB: link for 4 KiB
    /// pages (what OpenWrt kernels use), or the file carries up to 64 KiB of padding.
    pub page_4k: bool,
}

/// Every Linux target, in report order.
pub const TARGETS: [Target; 5] = [
    Target {
        alias: "mipsel",
        triple: "mipsel-unknown-linux-musl",
        qemu: Some("qemu-mipsel-static"),
        runtime: Runtime::Rust171,
        force_crt_static: true,
        page_4k: true,
    },
    Target {
        alias: "mips",
        triple: "mips-unknown-linux-musl",
        qemu: Some("qemu-mips-static"),
        runtime: Runtime::Rust171,
        force_crt_static: true,
        page_4k: true,
    },
    Target {
        alias: "armv7",
        triple: "armv7-unknown-linux-musleabihf",
        qemu: Some("qemu-arm-static"),
        runtime: Runtime::DebianArmhf,
        force_crt_static: false,
        page_4k: true,
    },
    Target {
        alias: "aarch64",
        triple: "aarch64-unknown-linux-musl",
        qemu: Some("qemu-aarch64-static"),
        runtime: Runtime::Stable,
        force_crt_static: false,
        page_4k: true,
    },
    Target {
        alias: "x86_64",
        triple: "x86_64-unknown-linux-musl",
        qemu: None,
        runtime: Runtime::Stable,
        force_crt_static: false,
        page_4k: false,
    },
];

/// Bare-metal targets of the no_std proof: (triple, needs nightly `-Zbuild-std=core`).
pub const NOSTD_TARGETS: [(&str, bool); 2] = [
    ("thumbv7em-none-eabihf", false),
    ("mipsel-unknown-none", true),
];

/// Looks a target up by alias or triple (`arm` and `armhf` also mean armv7).
pub fn find(name: &str) -> Option<&'static Target> {
    let name = match name {
        "arm" | "armhf" => "armv7",
        "arm64" => "aarch64",
        "amd64" | "x86-64" => "x86_64",
        n => n,
    };
    TARGETS.iter().find(|t| t.alias == name || t.triple == name)
}

/// Resolves command-line names; an empty list gives `default`.
pub fn resolve(names: &[String], default: &[&str]) -> Result<Vec<&'static Target>, String> {
    let list: Vec<&str> = if names.is_empty() {
        default.to_vec()
    } else {
        names.iter().map(String::as_str).collect()
    };
    let mut out = Vec::new();
    for n in list {
        if n == "all" {
            out.extend(TARGETS.iter());
            continue;
        }
        let t = find(n).ok_or_else(|| {
            let known: Vec<_> = TARGETS.iter().map(|t| t.alias).collect();
            format!(
                "unknown target `{n}` (known: {}, all, or a full triple)",
                known.join(", ")
            )
        })?;
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_and_triples() {
        assert_eq!(find("mipsel").unwrap().triple, "mipsel-unknown-linux-musl");
        assert_eq!(
            find("armv7-unknown-linux-musleabihf").unwrap().alias,
            "armv7"
        );
        assert_eq!(find("arm").unwrap().alias, "armv7");
        assert!(find("riscv64").is_none());
        let all = resolve(&["all".into(), "mips".into()], &[]).unwrap();
        assert_eq!(all.len(), 5);
        let d = resolve(&[], &["mips", "armv7"]).unwrap();
        assert_eq!(
            d.iter().map(|t| t.alias).collect::<Vec<_>>(),
            ["mips", "armv7"]
        );
        assert!(resolve(&["sparc".into()], &[])
            .unwrap_err()
            .contains("unknown target"));
    }
}
