//! Protected calls with an error handler (`init_by_lua*` runs its code under `debug.traceback`).

use std::ffi::c_int;

use super::call::Call;
use super::lua::*;

impl<'l> Call<'l> {
    /// `lua_pcall` with the value at the absolute index `handler` (below the function) as the
    /// error handler: false (with the handler's result on top) when the call raised.
    pub fn pcall_with(&mut self, nargs: c_int, nresults: c_int, handler: c_int) -> bool {
        let func = self.top() - nargs;
        assert!(func >= 1, "no function under the arguments");
        assert!(handler >= 1 && handler < func, "the error handler is not below the function");
        if nresults > 0 {
            self.reserve(nresults);
        }
        // SAFETY: a function and its arguments are on the stack, the handler below them; LuaJIT
        // grows the stack for LUA_MULTRET results.
        unsafe { raw::lua_pcall(self.as_ptr(), nargs, nresults, handler) == 0 }
    }
}
