//! `ffi_exports!`: declares the exported C ABI (`ngx_stream_lua_ffi_*`, the functions
//! lua-resty-core's `ffi.cdef`s name) over safe bodies; `ngx_callbacks!` (below) does the same
//! for the callbacks nginx and OpenSSL call, through `CallbackArg`.
//!
//! The declarations in lua-resty-core are the contract each export is written against; this
//! macro is the one place that turns what that contract promises into safe values:
//! - `name: bytes[len]` is the pair `*const u8, usize`: null, or `len` readable bytes valid for
//!   the call; the body sees `&[u8]`;
//! - `name: opt_bytes[len]` is the same pair where null means "no value" (`Option<&[u8]>`);
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
//!   that may be null), `Option<Box<T>>` (an object a `Box` gave out, handed back to be
//!   freed) and `#[repr(transparent)]` wrappers of those ([`ErrPtr`]).
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
    (@param $head:tt [$($raw:tt)*] [$($conv:tt)*] $n:ident : opt_bytes[$len:ident] $(, $($rest:tt)*)?) => {
        $crate::ffi_exports!(@param $head
            [$($raw)* $n: *const u8, $len: usize,]
            [$($conv)* $n = (!$n.is_null()).then(|| $crate::sys::cbuf::bytes_in($n, $len));]
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
        #[allow(clippy::too_many_arguments, clippy::unused_unit, unused_mut)]
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

/// What an nginx (or OpenSSL) callback receives, as the handle its body works with: `Raw` is
/// the C type of the parameter (so the function still fits the callback's pointer type), and
/// `from_callback` turns it into the handle, `None` when it cannot be used (a null pointer).
pub trait CallbackArg: Sized {
    type Raw;

    /// # Safety
    /// `raw` is what nginx (or OpenSSL) passes to a callback that takes this kind of handle, as
    /// the implementation documents; it stays valid for the call.
    unsafe fn from_callback(raw: Self::Raw) -> Option<Self>;
}

/// A raw pointer passed through as it is (an argument the callback ignores or only stores).
impl<T> CallbackArg for *mut T {
    type Raw = *mut T;

    unsafe fn from_callback(raw: *mut T) -> Option<*mut T> {
        Some(raw)
    }
}

/// Numbers are passed through as they are.
macro_rules! plain_callback_args {
    ($($t:ty),*) => {$(
        impl CallbackArg for $t {
            type Raw = $t;

            unsafe fn from_callback(raw: $t) -> Option<$t> {
                Some(raw)
            }
        }
    )*};
}
plain_callback_args!(usize, isize, i32, u32);

/// Declares nginx callbacks (phase handlers, event handlers, module hooks) over safe bodies:
/// `fn name(arg: Handle, ...) -> ret [value when an argument is unusable or on panic] { body }`
/// makes `unsafe extern "C" fn name(arg: <Handle as CallbackArg>::Raw, ...)`, converts each
/// argument through [`CallbackArg`] and runs the body under the panic boundary, with
/// `unsafe_op_in_unsafe_fn` denied in it.
#[macro_export]
macro_rules! ngx_callbacks {
    ($(
        $(#[$attr:meta])*
        $vis:vis fn $name:ident($($n:ident : $t:ty),* $(,)?) $(-> $ret:ty)? [$on_fail:expr] $body:block
    )*) => {$(
        $(#[$attr])*
        #[deny(unsafe_op_in_unsafe_fn)]
        #[allow(clippy::unused_unit)]
        $vis unsafe extern "C" fn $name($($n: <$t as $crate::sys::export::CallbackArg>::Raw),*) $(-> $ret)? {
            $(
                // SAFETY: nginx (or OpenSSL) calls this callback with what the handle's
                // CallbackArg implementation says it takes.
                let Some($n) = (unsafe { <$t as $crate::sys::export::CallbackArg>::from_callback($n) }) else {
                    return $on_fail;
                };
            )*
            $crate::sys::ngx::guard($on_fail, move || $body)
        }
    )*};
}
