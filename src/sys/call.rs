//! `Call`: the safe face of the Lua stack for a Rust function LuaJIT is running (the way
//! mlua's handles work: the state is borrowed for the call, values read off the stack borrow
//! the handle, so nothing that pops or pushes can run while a borrowed string is in use).
//!
//! Every operation here is one raw call whose conditions the handle itself guarantees: the
//! state is the running one (only the boundary makes a `Call`), and the stack has room for
//! every push (`reserve` grows it before LuaJIT's guaranteed slots run out).

use std::ffi::{c_int, c_void, CStr};
use std::marker::PhantomData;

use super::lua::{raw, reg, LuaError, LuaResult, RegKey, RegistryKey};
use super::recycled::RawOwner;
use mlua::ffi::{lua_CFunction, lua_State, LUA_GLOBALSINDEX, LUA_TNONE};

/// The free slots LuaJIT guarantees a C function above its arguments (`LUA_MINSTACK`).
const MIN_STACK: c_int = 20;

/// The Lua call being served: its arguments, what it pushes, and its errors.
pub struct Call<'l> {
    l: *mut lua_State,
    /// The highest stack index known to be allocated.
    limit: c_int,
    _state: PhantomData<&'l mut lua_State>,
}

/// A Rust value Lua code holds as an object (a socket): a table whose slot `SLOT` keeps a
/// full userdata with the metatable registered as `UDATA_METATABLE`, holding a pointer to
/// the value.
///
/// # Safety
/// Every userdata with that metatable holds a `*mut Self` that is null or points at a live
/// value, which nothing frees while a Lua call can reach it (only the userdata's `__gc`, or
/// code that nulls the pointer first).
pub unsafe trait LuaObject: Sized {
    const UDATA_METATABLE: &'static RegKey;
    const SLOT: c_int;
    /// What owns the value while Lua holds it (a `Box`, or a `Recycled` box for objects made
    /// per connection).
    type Owner: RawOwner<Target = Self>;
}

/// Where a Lua function was called from (`lua_getinfo` with `Snl`).
pub struct Frame {
    /// The chunk's short source name (`short_src`).
    pub source: Vec<u8>,
    pub line: c_int,
    /// The function's name when it is a named Lua function.
    pub lua_name: Option<Vec<u8>>,
}

impl<'l> Call<'l> {
    /// # Safety
    /// `l` is the state LuaJIT is running (a C function's, or a fresh VM being set up), with at
    /// least `LUA_MINSTACK` free slots above its top, and it outlives `'l`.
    pub unsafe fn from_raw(l: *mut lua_State) -> Self {
        // SAFETY: l is the running state (the caller's contract).
        let top = unsafe { raw::lua_gettop(l) };
        Call { l, limit: top + MIN_STACK, _state: PhantomData }
    }

    /// A handle for a helper that is given the raw state in the middle of a call, assuming no
    /// free slot (the first push grows the stack).
    ///
    /// # Safety
    /// `l` is a live state (the running one, or an idle VM's main state) that nothing else
    /// uses while the handle lives, and it outlives `'l`.
    pub unsafe fn nested(l: *mut lua_State) -> Self {
        // SAFETY: l is the running state (the caller's contract).
        let top = unsafe { raw::lua_gettop(l) };
        Call { l, limit: top, _state: PhantomData }
    }

    /// The raw state, for code not yet moved onto the handle.
    pub fn as_ptr(&self) -> *mut lua_State {
        self.l
    }

    /// Makes room for `n` more values (a failure to grow is LuaJIT's out-of-memory: it panics,
    /// and the boundary turns that into a Lua error).
    pub fn reserve(&mut self, n: c_int) {
        let top = self.top();
        if top + n > self.limit {
            // SAFETY: l is the running state; lua_checkstack only grows the stack.
            if unsafe { raw::lua_checkstack(self.l, n + MIN_STACK) } == 0 {
                panic!("Lua stack overflow");
            }
            self.limit = top + n + MIN_STACK;
        }
    }

    // ---- reading ----

    pub fn top(&self) -> c_int {
        // SAFETY: l is the running state.
        unsafe { raw::lua_gettop(self.l) }
    }

    /// The `LUA_T*` type of the value at `i` (`LUA_TNONE` past the top).
    pub fn type_of(&self, i: c_int) -> c_int {
        // SAFETY: any index is acceptable to lua_type.
        unsafe { raw::lua_type(self.l, i) }
    }

    /// The name of the `LUA_T*` type `t` ("no value" for none, as in upstream's messages).
    pub fn type_name(&self, t: c_int) -> &'static str {
        if t == LUA_TNONE {
            return "no value";
        }
        // SAFETY: lua_typename returns a static C string for every type code.
        unsafe { CStr::from_ptr(raw::lua_typename(self.l, t)) }.to_str().unwrap_or("?")
    }

    /// The name of the type of the value at `i`.
    pub fn type_name_at(&self, i: c_int) -> &'static str {
        self.type_name(self.type_of(i))
    }

    /// A function written in C (ours, or LuaJIT's built-ins).
    pub fn is_cfunction(&self, i: c_int) -> bool {
        // SAFETY: any index is acceptable.
        unsafe { raw::lua_iscfunction(self.l, i) != 0 }
    }

    /// A number, or a string that converts to one.
    pub fn is_number(&self, i: c_int) -> bool {
        // SAFETY: any index is acceptable.
        unsafe { raw::lua_isnumber(self.l, i) != 0 }
    }

    pub fn to_integer(&self, i: c_int) -> i64 {
        // SAFETY: any index is acceptable (0 when not a number).
        unsafe { raw::lua_tointeger(self.l, i) as i64 }
    }

    pub fn to_number(&self, i: c_int) -> f64 {
        // SAFETY: any index is acceptable (0 when not a number).
        unsafe { raw::lua_tonumber(self.l, i) }
    }

    pub fn to_boolean(&self, i: c_int) -> bool {
        // SAFETY: any index is acceptable.
        unsafe { raw::lua_toboolean(self.l, i) != 0 }
    }

    /// A light or full userdata's address (null for other values).
    pub fn to_pointer(&self, i: c_int) -> *mut c_void {
        // SAFETY: any index is acceptable.
        unsafe { raw::lua_touserdata(self.l, i) }
    }

    /// The coroutine at `i`, as an identity to compare (null when the value is none).
    pub fn to_thread(&self, i: c_int) -> Option<*mut lua_State> {
        // SAFETY: any index is acceptable.
        let co = unsafe { raw::lua_tothread(self.l, i) };
        (!co.is_null()).then_some(co)
    }

    /// Whether `co` is the running coroutine.
    pub fn is_running(&self, co: *mut lua_State) -> bool {
        std::ptr::eq(co, self.l)
    }

    /// Moves every value on the stack of the coroutine at `i` (a finished one's results) onto
    /// this stack; returns how many.
    pub fn take_thread_values(&mut self, i: c_int) -> c_int {
        let co = self.to_thread(i).expect("a coroutine at the index");
        assert!(!std::ptr::eq(co, self.l), "a coroutine cannot take its own values");
        // SAFETY: co is alive while it is on our stack; room is reserved for its values.
        unsafe {
            let k = raw::lua_gettop(co);
            self.reserve(k);
            raw::lua_xmove(co, self.l, k);
            k
        }
    }

    /// Moves the top `n` values onto the stack of the coroutine at `i` (a resume's arguments).
    pub fn give_to_thread_at(&mut self, i: c_int, n: c_int) {
        let co = self.to_thread(i).expect("a coroutine at the index");
        assert!(!std::ptr::eq(co, self.l) && n >= 0 && n <= self.top() - i, "values to move above the coroutine");
        // SAFETY: co is alive while it is on our stack; its stack is grown for the n values.
        unsafe {
            if raw::lua_checkstack(co, n) == 0 {
                panic!("Lua stack overflow");
            }
            raw::lua_xmove(self.l, co, n);
        }
    }

    /// `lua_pcall`: false (with the error value on top) when the call raised.
    pub fn pcall(&mut self, nargs: c_int, nresults: c_int) -> bool {
        assert!(self.top() > nargs, "no function under the arguments");
        if nresults > 0 {
            self.reserve(nresults);
        }
        // SAFETY: a function and its arguments are on the stack; LuaJIT grows the stack for
        // LUA_MULTRET results, and `reserve` goes by the real top afterwards.
        unsafe { raw::lua_pcall(self.l, nargs, nresults, 0) == 0 }
    }

    /// Calls the function at `top - nargs` with the `nargs` values above it, leaving `nresults`
    /// results (Lua errors propagate, as `lua_call`).
    pub fn call(&mut self, nargs: c_int, nresults: c_int) {
        assert!(self.top() > nargs, "no function under the arguments");
        self.reserve(nresults);
        // SAFETY: a function and its arguments are on the stack; room was reserved.
        unsafe { raw::lua_call(self.l, nargs, nresults) }
    }

    /// The string at `i` (a number is converted in place, as `lua_tolstring` does). The bytes
    /// live while the value stays on the stack: the borrow of `self` keeps it there.
    pub fn to_bytes(&self, i: c_int) -> Option<&[u8]> {
        let mut len = 0usize;
        // SAFETY: l is the running state; the pointer lives while the value stays on the stack,
        // which nothing can change while the returned slice borrows the handle.
        unsafe {
            let p = raw::lua_tolstring(self.l, i, &mut len);
            if p.is_null() {
                None
            } else {
                Some(std::slice::from_raw_parts(p as *const u8, len))
            }
        }
    }

    /// `luaL_checklstring`: a string or a number (converted in place), else `bad argument #i`
    /// with "string expected, got TYPE".
    pub fn check_bytes(&self, i: c_int, fname: &'static str) -> Result<&[u8], LuaError> {
        let t = self.type_of(i);
        if t == mlua::ffi::LUA_TSTRING || t == mlua::ffi::LUA_TNUMBER {
            if let Some(b) = self.to_bytes(i) {
                return Ok(b);
            }
        }
        Err(LuaError::Arg(i, fname, format!("string expected, got {}", self.type_name(t))))
    }

    /// The length of the value at `i` (`#`, without metamethods).
    pub fn obj_len(&self, i: c_int) -> usize {
        // SAFETY: any index is acceptable.
        unsafe { raw::lua_objlen(self.l, i) }
    }

    /// Where the function at `level` of the call stack was called from (1: the Lua caller).
    pub fn caller(&self, level: c_int) -> Option<Frame> {
        // SAFETY: lua_Debug is plain data; lua_getstack and lua_getinfo fill it, and its strings
        // are static or owned by the state while the function is on the stack (copied here).
        unsafe {
            let mut ar: raw::lua_Debug = std::mem::zeroed();
            if raw::lua_getstack(self.l, level, &mut ar) == 0 {
                return None;
            }
            raw::lua_getinfo(self.l, c"Snl".as_ptr(), &mut ar);
            let source = CStr::from_ptr(ar.short_src.as_ptr()).to_bytes().to_vec();
            let named = !ar.namewhat.is_null() && *ar.namewhat != 0;
            let is_lua = !ar.what.is_null() && *ar.what == b'L' as _;
            let lua_name = (named && is_lua && !ar.name.is_null()).then(|| CStr::from_ptr(ar.name).to_bytes().to_vec());
            Some(Frame { source, line: ar.currentline, lua_name })
        }
    }

    /// Whether the running coroutine can yield here (not inside a metamethod or an `xpcall`
    /// message handler); otherwise the yielding APIs fail like upstream's.
    pub fn ensure_yieldable(&self) -> Result<(), LuaError> {
        // SAFETY: l is the running state.
        unsafe { super::lua::ensure_yieldable(self.l) }
    }

    /// Runs `f` on the object `T` held by the table at `i`; None when `i` holds none (not such
    /// a table, a userdata of another kind, or a value already freed). `f` gets no Lua state:
    /// nothing can free the object while it runs.
    pub fn with_object<T: LuaObject, R>(&mut self, i: c_int, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        let p = self.object_ptr::<T>(i);
        // SAFETY: a userdata with T's metatable holds null or a live T (the LuaObject contract),
        // and f cannot run Lua code that would free it.
        unsafe { p.as_mut() }.map(f)
    }

    /// `with_object` for a method that takes bytes too: `f` gets `given`, or else the string
    /// at `s` (Lua's own, anchored on the stack for the call, which `f` cannot change), not
    /// copied.
    pub fn with_object_and_bytes<T: LuaObject, R>(
        &mut self,
        i: c_int,
        s: c_int,
        given: Option<&[u8]>,
        f: impl FnOnce(&mut T, &[u8]) -> R,
    ) -> Option<R> {
        let p = self.object_ptr::<T>(i);
        let bytes = match given {
            Some(b) => b,
            None => self.to_bytes(s).unwrap_or_default(),
        };
        // SAFETY: as in with_object; the object is a userdata, apart from the string's memory.
        unsafe { p.as_mut() }.map(|o| f(o, bytes))
    }

    /// The address of the object `T` held by the table at `i` (null when it holds none), for
    /// code still over the raw state; `with_object` is the safe way in.
    pub fn object_ptr<T: LuaObject>(&mut self, i: c_int) -> *mut T {
        // (every method of every object starts here: as few C API calls as it takes)
        // SAFETY: any index is acceptable to lua_type.
        if unsafe { raw::lua_type(self.l, i) } != mlua::ffi::LUA_TTABLE {
            return std::ptr::null_mut();
        }
        let top = self.top();
        let i = if i < 0 && i > mlua::ffi::LUA_REGISTRYINDEX { top + i + 1 } else { i };
        if top + 2 > self.limit {
            self.reserve(2);
        }
        // SAFETY: i is a table and room was reserved; the stack is restored below.
        unsafe {
            raw::lua_rawgeti_(self.l, i, T::SLOT as _);
            let ud = raw::lua_touserdata(self.l, -1) as *mut *mut T;
            let mut p = std::ptr::null_mut();
            if !ud.is_null() && raw::lua_getmetatable(self.l, -1) != 0 {
                T::UDATA_METATABLE.push_from_registry(self.l);
                if raw::lua_rawequal(self.l, -1, -2) != 0 {
                    p = *ud;
                }
            }
            raw::lua_settop(self.l, top);
            p
        }
    }

    // ---- writing ----

    pub fn push_nil(&mut self) {
        self.reserve(1);
        // SAFETY: room was reserved.
        unsafe { raw::lua_pushnil(self.l) }
    }

    pub fn push_bool(&mut self, v: bool) {
        self.reserve(1);
        // SAFETY: room was reserved.
        unsafe { raw::lua_pushboolean(self.l, v as c_int) }
    }

    pub fn push_int(&mut self, v: i64) {
        self.reserve(1);
        // SAFETY: room was reserved.
        unsafe { raw::lua_pushinteger(self.l, v as _) }
    }

    /// A Lua string copied from `b`.
    pub fn push_bytes(&mut self, b: &[u8]) {
        self.reserve(1);
        // SAFETY: room was reserved; lua_pushlstring copies the bytes.
        unsafe { raw::lua_pushlstring_(self.l, b.as_ptr() as *const _, b.len()) }
    }

    /// A light userdata (an address Lua only carries, as `ngx.null` is the null one).
    pub fn push_light(&mut self, p: *mut c_void) {
        self.reserve(1);
        // SAFETY: room was reserved; Lua never dereferences a light userdata.
        unsafe { raw::lua_pushlightuserdata(self.l, p) }
    }

    pub fn push_fn(&mut self, f: lua_CFunction) {
        self.reserve(1);
        // SAFETY: room was reserved; f is a Lua C function.
        unsafe { raw::lua_pushcclosure(self.l, f, 0) }
    }

    /// A copy of the value at `i`.
    pub fn push_copy(&mut self, i: c_int) {
        self.check_index(i);
        self.reserve(1);
        // SAFETY: i is a valid index; room was reserved.
        unsafe { raw::lua_pushvalue(self.l, i) }
    }

    /// Pushes the global `name`; returns its type.
    pub fn get_global(&mut self, name: &CStr) -> c_int {
        self.reserve(1);
        // SAFETY: room was reserved; the globals table is always there (metamethods may run).
        unsafe { raw::lua_getfield(self.l, LUA_GLOBALSINDEX, name.as_ptr()) }
    }

    /// Pushes the registry's field `name`; returns its type.
    pub fn get_registry(&mut self, name: impl RegistryKey) -> c_int {
        self.reserve(2);
        // SAFETY: room was reserved; the registry is always there.
        unsafe { name.push_from_registry(self.l) };
        self.type_of(-1)
    }

    /// Pops the top value into the registry's field `name`.
    pub fn set_registry(&mut self, name: impl RegistryKey) {
        self.check_index(-1);
        self.reserve(1);
        // SAFETY: a value is on top and room was reserved; the registry is always there.
        unsafe { name.set_in_registry(self.l) }
    }

    /// Pushes field `name` of the table at `t` (metamethods may run); returns its type.
    pub fn get_field(&mut self, t: c_int, name: &CStr) -> c_int {
        self.check_index(t);
        self.reserve(1);
        // SAFETY: t is a valid index and room was reserved.
        unsafe { raw::lua_getfield(self.l, t, name.as_ptr()) }
    }

    /// A new coroutine sharing the running one's globals, left on the top and anchored in the
    /// VM's coroutine table (`reg::COROUTINES`), with copies of the `n` values from index `first` on
    /// its stack. Returns the coroutine and its anchor.
    pub fn new_coroutine(&mut self, first: c_int, n: c_int) -> super::coroutine::Anchored {
        if n > 0 {
            self.check_index(first);
            self.check_index(first + n - 1);
        }
        self.reserve(n + 3);
        // SAFETY: room was reserved; the coroutine table is made with the VM; the indexes were
        // checked; the new coroutine's stack is grown for the n values before they move; the
        // coroutine handed out is the one just made and anchored at co_ref.
        unsafe {
            let co = raw::lua_newthread(self.l);
            let tidx = self.top();
            (&reg::COROUTINES).push_from_registry(self.l);
            raw::lua_pushvalue(self.l, tidx);
            let co_ref = raw::luaL_ref(self.l, -2);
            raw::lua_settop(self.l, tidx);
            if raw::lua_checkstack(co, n) == 0 {
                panic!("Lua stack overflow");
            }
            for i in first..first + n {
                raw::lua_pushvalue(self.l, i);
            }
            raw::lua_xmove(self.l, co, n);
            super::coroutine::Anchored::new(std::ptr::NonNull::new(co).expect("lua_newthread"), co_ref)
        }
    }

    /// Opens LuaJIT's standard libraries (on a new state).
    pub fn open_libs(&mut self) {
        // SAFETY: luaL_openlibs keeps the stack balanced.
        unsafe { raw::luaL_openlibs(self.l) }
    }

    /// Compiles `src` (source or bytecode) as a chunk named `chunkname`: true with its function
    /// on top, false with the loader's message on top.
    pub fn load(&mut self, src: &[u8], chunkname: &CStr) -> bool {
        self.reserve(1);
        // SAFETY: room was reserved for the function or the message; src outlives the call.
        unsafe { raw::luaL_loadbuffer(self.l, src.as_ptr() as *const _, src.len(), chunkname.as_ptr()) == 0 }
    }

    /// The message on top (an error value), popped; `None` when it is not a string.
    pub fn pop_message(&mut self) -> Option<String> {
        let msg = self.to_bytes(-1).map(|b| String::from_utf8_lossy(b).into_owned());
        self.pop(1);
        msg
    }

    /// A new table, left on the top; returns its (absolute) index.
    pub fn new_table(&mut self, narr: c_int, nrec: c_int) -> c_int {
        self.reserve(1);
        // SAFETY: room was reserved.
        unsafe { raw::lua_createtable(self.l, narr, nrec) };
        self.top()
    }

    /// Pops the top value into field `name` of the table at `t` (raw set: no metamethods run).
    pub fn set_field(&mut self, t: c_int, name: &CStr) {
        assert!(self.type_of(t) == mlua::ffi::LUA_TTABLE && self.top() >= 1, "set_field needs a table and a value");
        let t = self.absolute(t);
        self.push_bytes(name.to_bytes());
        // SAFETY: t is a table; the key and then the value are on top (swapped into place).
        unsafe {
            raw::lua_insert(self.l, -2);
            raw::lua_rawset(self.l, t);
        }
    }

    pub fn set_field_fn(&mut self, t: c_int, name: &CStr, f: lua_CFunction) {
        self.push_fn(f);
        self.set_field(t, name);
    }

    pub fn set_field_int(&mut self, t: c_int, name: &CStr, v: i64) {
        self.push_int(v);
        self.set_field(t, name);
    }

    pub fn set_field_bool(&mut self, t: c_int, name: &CStr, v: bool) {
        self.push_bool(v);
        self.set_field(t, name);
    }

    pub fn set_field_str(&mut self, t: c_int, name: &CStr, v: &[u8]) {
        self.push_bytes(v);
        self.set_field(t, name);
    }

    /// Registers an object kind's metatable as the registry's `name`: one table holding the
    /// `methods`, which is its own `__index` (upstream's layout for sockets).
    pub fn register_methods(&mut self, name: impl RegistryKey, methods: &[(&CStr, lua_CFunction)]) {
        self.register_methods_beyond(name, methods, &[]);
    }

    /// `register_methods` for an object that also has methods stream-lua v0.0.16 lacks: the
    /// metatable lists only upstream's (code counts its entries), and `__index` is a second
    /// table with all of them, so a lookup costs the same one table access.
    pub fn register_methods_beyond(
        &mut self,
        name: impl RegistryKey,
        methods: &[(&CStr, lua_CFunction)],
        extras: &[(&CStr, lua_CFunction)],
    ) {
        let m = self.new_table(0, methods.len() as c_int + 1);
        for (method, f) in methods {
            self.set_field_fn(m, method, *f);
        }
        if extras.is_empty() {
            self.push_copy(m);
        } else {
            let all = self.new_table(0, (methods.len() + extras.len()) as c_int);
            for (method, _) in methods {
                // the same function values as the metatable's
                self.get_field(m, method);
                self.set_field(all, method);
            }
            for (method, f) in extras {
                self.set_field_fn(all, method, *f);
            }
        }
        self.set_field(m, c"__index");
        self.set_registry(name);
    }

    /// Registers a metatable holding only `__gc` as the registry's `name` (for the userdata
    /// that frees what an object owns when Lua collects it).
    pub fn register_gc(&mut self, name: impl RegistryKey, gc: lua_CFunction) {
        let m = self.new_table(0, 1);
        self.set_field_fn(m, c"__gc", gc);
        self.set_registry(name);
    }

    /// Pops the top value into the global `name`.
    pub fn set_global(&mut self, name: &CStr) {
        assert!(self.top() >= 1, "set_global needs a value");
        // SAFETY: a value is on top; the globals table is always there.
        unsafe { raw::lua_setfield(self.l, LUA_GLOBALSINDEX, name.as_ptr()) }
    }

    /// Moves the top value to index `i`, shifting the ones above it up.
    pub fn insert(&mut self, i: c_int) {
        self.check_index(i);
        // SAFETY: i is a valid stack index.
        unsafe { raw::lua_insert(self.l, i) }
    }

    /// The table traversal step (`lua_next`): pops a key, pushes the next key and its value
    /// and returns true, or pushes nothing and returns false at the end.
    pub fn next(&mut self, t: c_int) -> bool {
        self.check_table(t);
        self.check_index(-1);
        self.reserve(2);
        // SAFETY: t is a table, a key is on top, room was reserved.
        unsafe { raw::lua_next(self.l, t) != 0 }
    }

    /// What the VM's table of ended threads (`reg::ENDED_THREADS`) holds for the coroutine at
    /// `i`: the number `MainState::note_ended` stored, if any.
    pub fn ended_thread(&mut self, i: c_int) -> Option<f64> {
        let i = self.absolute(i);
        if self.get_registry(&reg::ENDED_THREADS) != mlua::ffi::LUA_TTABLE {
            self.pop(1);
            return None;
        }
        let t = self.top();
        self.push_copy(i);
        let found = self.raw_get(t) == mlua::ffi::LUA_TNUMBER;
        let code = found.then(|| self.to_number(-1));
        self.pop(2);
        code
    }

    /// Pops a key and pushes `t[key]`, without metamethods; returns its type.
    pub fn raw_get(&mut self, t: c_int) -> c_int {
        self.check_table(t);
        self.check_index(-1);
        // SAFETY: t is a table and a key is on top.
        unsafe { raw::lua_rawget(self.l, t) }
    }

    /// Pushes `t[n]`, without metamethods; returns its type.
    pub fn raw_geti(&mut self, t: c_int, n: i64) -> c_int {
        self.check_table(t);
        self.reserve(1);
        // SAFETY: t is a table and room was reserved.
        unsafe { raw::lua_rawgeti(self.l, t, n as _) }
    }

    /// `t[n]` as a number (0 when not one), without metamethods and leaving the stack as it
    /// was; None when `t` is not a table. Fewer Lua API calls than `raw_geti`, `to_number`
    /// and `pop`: sockets read their owner this way on every method call.
    pub fn raw_geti_number(&mut self, t: c_int, n: i64) -> Option<f64> {
        if self.type_of(t) != mlua::ffi::LUA_TTABLE {
            return None;
        }
        self.reserve(1);
        // SAFETY: t is a table and room was reserved; the pushed value is popped at once.
        unsafe {
            raw::lua_rawgeti_(self.l, t, n as _);
            let v = raw::lua_tonumber(self.l, -1);
            raw::lua_settop(self.l, -2);
            Some(v)
        }
    }

    /// Pops a value, then a key, and sets `t[key] = value`, without metamethods.
    pub fn raw_set(&mut self, t: c_int) {
        self.check_table(t);
        self.check_index(-2);
        // SAFETY: t is a table, a key and a value are on top.
        unsafe { raw::lua_rawset(self.l, t) }
    }

    /// Pops a value into `t[n]`, without metamethods.
    pub fn raw_seti(&mut self, t: c_int, n: usize) {
        self.check_table(t);
        self.check_index(-1);
        // SAFETY: t is a table and a value is on top.
        unsafe { raw::lua_rawseti(self.l, t, n as _) }
    }

    /// Removes the value at `i`, shifting the ones above it down.
    pub fn remove(&mut self, i: c_int) {
        self.check_index(i);
        // SAFETY: i is a valid stack index.
        unsafe { raw::lua_remove(self.l, i) }
    }

    /// Sets the top to `i`: pops values above it, or pushes nils up to it.
    pub fn set_top(&mut self, i: c_int) {
        assert!(i >= 0, "a negative top");
        let top = self.top();
        if i > top {
            self.reserve(i - top);
        }
        // SAFETY: room was reserved for any nils pushed.
        unsafe { raw::lua_settop(self.l, i) }
    }

    /// Pops `n` values.
    pub fn pop(&mut self, n: c_int) {
        assert!(n >= 0 && n <= self.top(), "pop past the bottom of the stack");
        // SAFETY: the stack holds at least n values.
        unsafe { raw::lua_settop(self.l, -n - 1) }
    }

    /// Calls the metamethod `name` of the value at `i` with it, pushing the result; false (and
    /// nothing pushed) when there is no such metamethod. An error in the metamethod is raised.
    pub fn call_meta(&mut self, i: c_int, name: &CStr) -> bool {
        self.check_index(i);
        self.reserve(2);
        // SAFETY: i is a valid index and room was reserved.
        unsafe { raw::luaL_callmeta(self.l, i, name.as_ptr()) != 0 }
    }

    // ---- ending ----

    /// `bad argument #n to 'NAME' (msg)`; `fname` documents which API raises it (LuaJIT finds
    /// the name the caller used).
    pub fn arg_error<T>(&self, n: c_int, fname: &'static str, msg: impl Into<String>) -> Result<T, LuaError> {
        Err(LuaError::Arg(n, fname, msg.into()))
    }

    /// Returns `nil, msg`.
    pub fn fail(&mut self, msg: &[u8]) -> LuaResult {
        self.push_nil();
        self.push_bytes(msg);
        Ok(2)
    }

    fn absolute(&self, i: c_int) -> c_int {
        if i < 0 && i > mlua::ffi::LUA_REGISTRYINDEX {
            self.top() + i + 1
        } else {
            i
        }
    }

    fn check_table(&self, t: c_int) {
        assert!(self.type_of(t) == mlua::ffi::LUA_TTABLE, "index {t} is not a table");
    }

    fn check_index(&self, i: c_int) {
        let a = self.absolute(i);
        assert!(a >= 1 && a <= self.top(), "stack index {i} out of range");
    }
}
