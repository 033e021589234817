//! The thin layer of raw nginx and LuaJIT calls; everything above it works with the small
//! safe-ish helpers defined here.

pub mod errlog;
pub mod exports;
pub mod luastate;
pub mod ngx;
pub mod pcre2;
pub mod process;
pub mod regex;
pub mod string_exports;

pub use self::luastate::*;
pub use self::ngx::*;
