//! `TEST_NGINX_RESTY_CORE=/path/to/lua-resty-core/lib[:/path/to/lua-resty-lrucache/lib...]`:
//! runs every block with that lua-resty-core loaded, the way OpenResty runs it (its
//! `resty.core.regex` needs lua-resty-lrucache, hence the list): the paths go first in
//! `lua_package_path` (merged into the block's own directive) and `require "resty.core"` runs
//! first in `init_by_lua_block` (added to the block's own, on the same line so that
//! `nginx.conf:N` positions do not move). Like Test::Nginx's `TEST_NGINX_INIT_BY_LUA`, blocks
//! with `init_by_lua_file` or the string form of `init_by_lua` only get the path.

use regex::bytes::Regex;

/// The `lib` directories (lua-resty-core and what it needs) to load, if asked for.
pub fn lib_dir() -> Option<String> {
    std::env::var("TEST_NGINX_RESTY_CORE").ok().filter(|d| !d.trim().is_empty())
}

/// The block's `stream_config` with lua-resty-core added (`None` stays `None` unless the
/// block has stream servers).
pub fn apply(stream_config: Option<Vec<u8>>, has_stream: bool) -> Option<Vec<u8>> {
    match lib_dir() {
        Some(dirs) => merge(&dirs, stream_config, has_stream),
        None => stream_config,
    }
}

/// `apply` with the `:`-separated `dirs` given.
pub fn merge(dir: &str, stream_config: Option<Vec<u8>>, has_stream: bool) -> Option<Vec<u8>> {
    if stream_config.is_none() && !has_stream {
        return None;
    }
    let mut conf = stream_config.unwrap_or_default();
    let path: String =
        dir.split(':').filter(|d| !d.is_empty()).map(|d| format!("{}/?.lua;", d.trim_end_matches('/'))).collect();

    let directive = Regex::new(r#"lua_package_path\s+(['"]?)"#).unwrap();
    // what the block lacks goes on its last line, so that `nginx.conf:N` positions of the
    // server config that follows do not move
    let mut extra: Vec<u8> = Vec::new();
    conf = match directive.find(&conf) {
        Some(m) => [&conf[..m.end()], path.as_bytes(), &conf[m.end()..]].concat(),
        None => {
            extra.extend_from_slice(format!(" lua_package_path \"{path};\";").as_bytes());
            conf
        }
    };

    const REQUIRE: &[u8] = b" require \"resty.core\" ";
    let block = Regex::new(r"init_by_lua_block\s*\{").unwrap();
    let other_init = Regex::new(r"init_by_lua(_file)?\s").unwrap();
    if let Some(m) = block.find(&conf) {
        conf = [&conf[..m.end()], REQUIRE, &conf[m.end()..]].concat();
    } else if !other_init.is_match(&conf) {
        extra.extend_from_slice(b" init_by_lua_block {");
        extra.extend_from_slice(REQUIRE);
        extra.extend_from_slice(b"}");
    }
    if !extra.is_empty() {
        match conf.last() {
            Some(b'\n') => {
                conf.pop();
                conf.extend_from_slice(&extra);
                conf.push(b'\n');
            }
            _ => conf.extend_from_slice(&extra),
        }
    }
    Some(conf)
}
