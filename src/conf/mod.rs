//! Configuration: the module's main and server configurations and every directive.

pub mod directives;
pub mod lexer;

use std::rc::Rc;

use crate::lua::code::Code;

/// `stream {}`-level configuration, one per configuration cycle.
#[derive(Default)]
pub struct MainConf {
    pub package_path: Option<Vec<u8>>,
    pub package_cpath: Option<Vec<u8>>,
    /// Every handler's code, so the VM can compile all of it once, before workers fork.
    pub codes: Vec<Rc<Code>>,
    /// The cycle's Lua VM, created at postconfiguration (in the master, inherited by workers).
    pub vm: Option<crate::lua::vm::Vm>,
}

/// `server {}`-level configuration.
#[derive(Default, Clone)]
pub struct SrvConf {
    pub code_cache: Option<bool>,
    pub content: Option<Rc<Code>>,
}

impl SrvConf {
    pub fn code_cache(&self) -> bool {
        self.code_cache.unwrap_or(true)
    }

    pub fn merge(&mut self, prev: &SrvConf) {
        if self.code_cache.is_none() {
            self.code_cache = prev.code_cache;
        }
    }
}
