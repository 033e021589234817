//! Default `package.path` / `package.cpath` (what `;;` expands to). Our LuaJIT is built with
//! its stock defaults (`/usr/local/...`), while distributions install Lua 5.1 modules (e.g.
//! Debian's `lua-cjson`) under `/usr`, where their own LuaJIT builds look, and where the C
//! module (linked to the distro's LuaJIT) finds them. So the distro directories are added.

use crate::sys::*;

/// `p` taken from `prefix` unless it is absolute, like upstream's `ngx_*_lua_rebase_path`.
pub fn rebase(prefix: &[u8], p: &[u8]) -> Vec<u8> {
    if p.first() == Some(&b'/') {
        return p.to_vec();
    }
    let mut out = prefix.to_vec();
    if !out.is_empty() && out.last() != Some(&b'/') {
        out.push(b'/');
    }
    out.extend_from_slice(p);
    out
}

/// Debian's multiarch triplet of the target we are built for (`x86_64-linux-gnu`).
fn multiarch() -> Option<String> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let arch = match std::env::consts::ARCH {
        "x86" => "i386",
        "powerpc64" if cfg!(target_endian = "little") => "powerpc64le",
        a @ ("x86_64" | "aarch64" | "arm" | "powerpc64" | "s390x" | "riscv64" | "loongarch64" | "mips64") => a,
        _ => return None,
    };
    let abi = if cfg!(target_env = "musl") {
        "musl"
    } else if arch == "arm" {
        if cfg!(target_abi = "eabihf") {
            "gnueabihf"
        } else {
            "gnueabi"
        }
    } else if arch == "mips64" {
        "gnuabi64"
    } else {
        "gnu"
    };
    Some(format!("{arch}-linux-{abi}"))
}

/// C module patterns: Debian/Ubuntu (multiarch), RHEL/Fedora (lib64), Alpine/Arch.
fn distro_cpath() -> Vec<String> {
    let mut dirs = Vec::new();
    if let Some(triplet) = multiarch() {
        dirs.push(format!("/usr/lib/{triplet}/lua/5.1/?.so"));
    }
    if cfg!(target_pointer_width = "64") {
        dirs.push("/usr/lib64/lua/5.1/?.so".into());
    }
    dirs.push("/usr/lib/lua/5.1/?.so".into());
    dirs
}

fn distro_path() -> Vec<String> {
    vec!["/usr/share/lua/5.1/?.lua".into(), "/usr/share/lua/5.1/?/init.lua".into()]
}

/// `current` with the `extra` patterns it lacks: C patterns before LuaJIT's `loadall.so`
/// (its last resort), Lua patterns at the end.
fn with_extra(current: &str, extra: &[String]) -> String {
    let mut parts: Vec<&str> = current.split(';').filter(|p| !p.is_empty()).collect();
    let at = parts.iter().position(|p| p.ends_with("/loadall.so")).unwrap_or(parts.len());
    let missing: Vec<&str> = extra.iter().map(String::as_str).filter(|e| !parts.contains(e)).collect();
    parts.splice(at..at, missing);
    parts.join(";")
}

/// What upstream puts before the default `package.path` when nginx is built `--with-debug`
/// (its `LUA_DEFAULT_PATH`): a lua-resty-core and lua-resty-lrucache checked out beside the
/// directory nginx runs in, as in upstream's development trees.
#[cfg(ngx_feature = "debug")]
const DEBUG_DEFAULT_PATH: &str = "../lua-resty-core/lib/?.lua;../lua-resty-lrucache/lib/?.lua";

/// A fresh main VM's `package.path` starts with DEBUG_DEFAULT_PATH in a debug nginx, as
/// upstream's (logged as upstream's debug line).
#[cfg(ngx_feature = "debug")]
pub fn prepend_debug_default(c: &mut Call, log: Option<Log>) {
    if let Some(log) = log {
        log.debug_fmt(format_args!("lua prepending default package.path with {DEBUG_DEFAULT_PATH}"));
    }
    let pkg = c.top() + 1;
    c.get_global(c"package");
    c.get_field(pkg, c"path");
    let current = c.to_bytes(-1).map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
    c.pop(1);
    c.set_field_str(pkg, c"path", format!("{DEBUG_DEFAULT_PATH};{current}").as_bytes());
    c.pop(1);
}

#[cfg(not(ngx_feature = "debug"))]
pub fn prepend_debug_default(_c: &mut Call, _log: Option<Log>) {}

/// Adds the distribution's Lua directories to `package.path` / `package.cpath` (unless
/// `LUA_PATH` / `LUA_CPATH` set them), before the all-in-one loader's entry.
pub fn add_distro_dirs(c: &mut Call) {
    let pkg = c.top() + 1;
    if c.get_global(c"package") != LUA_TTABLE {
        c.pop(1);
        return;
    }
    for (field, env, extra) in [(c"path", "LUA_PATH", distro_path()), (c"cpath", "LUA_CPATH", distro_cpath())] {
        if std::env::var_os(env).is_some() {
            continue;
        }
        c.get_field(pkg, field);
        let current = c.to_bytes(-1).map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
        c.pop(1);
        c.set_field_str(pkg, field, with_extra(&current, &extra).as_bytes());
    }
    c.pop(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_before_loadall_without_duplicates() {
        let cur = "./?.so;/usr/local/lib/lua/5.1/?.so;/usr/lib64/lua/5.1/?.so;/usr/local/lib/lua/5.1/loadall.so";
        let extra = vec!["/usr/lib/x/lua/5.1/?.so".to_string(), "/usr/lib64/lua/5.1/?.so".to_string()];
        assert_eq!(
            with_extra(cur, &extra),
            "./?.so;/usr/local/lib/lua/5.1/?.so;/usr/lib64/lua/5.1/?.so;/usr/lib/x/lua/5.1/?.so;/usr/local/lib/lua/5.1/loadall.so"
        );
        assert_eq!(with_extra("./?.lua", &extra[..1]), "./?.lua;/usr/lib/x/lua/5.1/?.so");
    }

    #[cfg(all(target_os = "linux", target_arch = "x86_64", target_env = "gnu"))]
    #[test]
    fn debian_triplet() {
        assert_eq!(multiarch().as_deref(), Some("x86_64-linux-gnu"));
    }
}
