//! `ffi_exports!`: declares the exported C ABI (`ngx_stream_lua_ffi_*`, the functions
//! lua-resty-core's `ffi.cdef`s name) over safe bodies.
//!
//! The declarations in lua-resty-core are the contract each export is written against; this
//! macro is the one place that turns what that contract promises into safe values:
//! - `name: bytes[len]` is the pair `*const u8, usize`: null, or `len` readable bytes valid for
//!   the call; the body sees `&[u8]`;
//! - `name: bytes_mut[len]` is `*mut u8, usize`: null, or `len` writable bytes nothing else uses
//!   during the call; the body sees `&mut [u8]`;
//! - `name: out_buf[len]` is `*mut *mut u8, *mut usize`, a caller-owned buffer of `*len` bytes
//!   that the callee may replace with a `malloc`'ed one; the body sees [`OutBuf`];
//! - `name: err_buf[len]` is `*mut u8, *mut usize`, an error buffer of `*len` bytes (either may
//!   be null); the body sees [`ErrBuf`];
//! - `name: cstr` is `*const u8`: null or a NUL-terminated string; the body sees
//!   `Option<&CStr>`;
//! - any other parameter keeps the type it is declared with. Those are types whose validity the
//!   C caller promises by its own declaration: numbers, references (`&T`, `&mut T`, `&mut [u8;
//!   N]`: a non-null pointer to that many valid bytes or that object), `Option<&T>` (a pointer
//!   that may be null) and `#[repr(transparent)]` wrappers of those ([`ErrPtr`]).
//!
//! The body runs under the panic boundary ([`guard`]) and may not do anything unsafe without
//! its own `unsafe` block (`unsafe_op_in_unsafe_fn` is denied in it), so an export reads as
//! the safe call it makes.
//!
//! [`OutBuf`]: crate::sys::cbuf::OutBuf
//! [`ErrBuf`]: crate::sys::cbuf::ErrBuf
//! [`ErrPtr`]: crate::sys::cbuf::ErrPtr
//! [`guard`]: crate::sys::ngx::guard

/// See the module documentation. Each export is written
/// `fn name(params) -> ret [value on panic] { body }`.
#[macro_export]
macro_rules! ffi_exports {
    () => {};
    (
        $(#[$attr:meta])*
        fn $name:ident($($params:tt)*) $(-> $ret:ty)? [$on_panic:expr] $body:block
        $($rest:tt)*
    ) => {
        $crate::ffi_exports!(@param [$(#[$attr])* $name ($($ret)?) [$on_panic] $body] [] [] $($params)*);
        $crate::ffi_exports!($($rest)*);
    };

    // ---- one parameter at a time: [raw parameters] [conversions] rest --------------------
    (@param $head:tt [$($raw:tt)*] [$($conv:tt)*] $n:ident : bytes[$len:ident] $(, $($rest:tt)*)?) => {
        $crate::ffi_exports!(@param $head
            [$($raw)* $n: *const u8, $len: usize,]
            [$($conv)* $n = $crate::sys::cbuf::bytes_in($n, $len);]
            $($($rest)*)?);
    };
    (@param $head:tt [$($raw:tt)*] [$($conv:tt)*] $n:ident : bytes_mut[$len:ident] $(, $($rest:tt)*)?) => {
        $crate::ffi_exports!(@param $head
            [$($raw)* $n: *mut u8, $len: usize,]
            [$($conv)* $n = $crate::sys::cbuf::bytes_out($n, $len);]
            $($($rest)*)?);
    };
    (@param $head:tt [$($raw:tt)*] [$($conv:tt)*] $n:ident : out_buf[$len:ident] $(, $($rest:tt)*)?) => {
        $crate::ffi_exports!(@param $head
            [$($raw)* $n: *mut *mut u8, $len: *mut usize,]
            [$($conv)* $n = $crate::sys::cbuf::OutBuf::from_raw($n, $len);]
            $($($rest)*)?);
    };
    (@param $head:tt [$($raw:tt)*] [$($conv:tt)*] $n:ident : err_buf[$len:ident] $(, $($rest:tt)*)?) => {
        $crate::ffi_exports!(@param $head
            [$($raw)* $n: *mut u8, $len: *mut usize,]
            [$($conv)* $n = $crate::sys::cbuf::ErrBuf::from_raw($n, $len);]
            $($($rest)*)?);
    };
    (@param $head:tt [$($raw:tt)*] [$($conv:tt)*] $n:ident : cstr $(, $($rest:tt)*)?) => {
        $crate::ffi_exports!(@param $head
            [$($raw)* $n: *const u8,]
            [$($conv)* $n = $crate::sys::cbuf::cstr_in($n);]
            $($($rest)*)?);
    };
    (@param $head:tt [$($raw:tt)*] [$($conv:tt)*] mut $n:ident : $t:ty $(, $($rest:tt)*)?) => {
        $crate::ffi_exports!(@param $head [$($raw)* mut $n: $t,] [$($conv)*] $($($rest)*)?);
    };
    (@param $head:tt [$($raw:tt)*] [$($conv:tt)*] $n:ident : $t:ty $(, $($rest:tt)*)?) => {
        $crate::ffi_exports!(@param $head [$($raw)* $n: $t,] [$($conv)*] $($($rest)*)?);
    };

    // ---- all parameters read: the function ------------------------------------------------
    (@param [$(#[$attr:meta])* $name:ident ($($ret:ty)?) [$on_panic:expr] $body:block]
        [$($raw:tt)*] [$($n:ident = $conv:expr;)*]) => {
        $(#[$attr])*
        #[no_mangle]
        #[deny(unsafe_op_in_unsafe_fn)]
        #[allow(clippy::too_many_arguments, unused_mut)]
        pub unsafe extern "C" fn $name($($raw)*) $(-> $ret)? {
            $(
                // SAFETY: the conversion takes what lua-resty-core's declaration of this
                // function promises for this kind of parameter (above), valid for the call.
                let mut $n = unsafe { $conv };
            )*
            $crate::sys::ngx::guard($on_panic, move || $body)
        }
    };
}
