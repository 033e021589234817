//! ngx.re: the replacement templates of `ngx.re.sub`/`gsub` (`$0`, `$1`, `${1}`, `$$`; parsed
//! and expanded by the `stream-lua-retemplate` crate, crates/retemplate) and the regex limits
//! of the configuration. The PCRE2 calls and the exported ABI live in
//! `exports.rs`; the Lua API is `lualib/ngx_re.lua` and `lualib/ngx_re_module.lua`.

pub mod exports;

pub use stream_lua_retemplate::{compile_template, Template};

/// `lua_regex_cache_max_entries` (default 1024).
pub fn cache_max_entries() -> usize {
    crate::conf::cycle_main_conf().and_then(|c| c.regex_cache_max_entries).unwrap_or(1024)
}

/// `lua_regex_match_limit` (0: PCRE2's default) and the configuration load it is from; None
/// while no running cycle's configuration is known (init_by_lua at the first start).
pub fn match_limit() -> Option<(usize, usize)> {
    crate::conf::cycle_main_conf().map(|c| (c.generation.0, c.regex_match_limit.unwrap_or(0)))
}
