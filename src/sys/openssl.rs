//! OpenSSL objects as owned Rust values: a read-only memory BIO over a byte slice, X509
//! certificates, certificate chains (`STACK_OF(X509)`) and private keys (`EVP_PKEY`), each freed
//! on drop. The functions of `ngx.ssl` that work on PEM/DER data (`api/ssl/`) use only these.
//!
//! Failures are `&'static CStr` messages naming the OpenSSL call that failed, the texts
//! stream-lua gives its callers; OpenSSL's error queue is emptied before such a message is
//! returned, so no stale entry reaches nginx's next `ngx_ssl_error`.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::marker::PhantomData;
use std::ptr::NonNull;

use super::ngx::*;

/// A failure: the message for the caller.
pub type SslError = &'static CStr;

/// OpenSSL's error queue is emptied (what every failure path does before returning).
pub fn clear_errors() {
    // SAFETY: ERR_clear_error only touches this thread's error queue.
    unsafe { ERR_clear_error() };
}

fn fail<T>(msg: SslError) -> Result<T, SslError> {
    clear_errors();
    Err(msg)
}

/// `ERR_GET_LIB`/`ERR_GET_REASON` of OpenSSL 3 (macros there): is the newest queued error
/// PEM's "no start line", i.e. did a PEM read find no further object?
fn last_error_is_pem_no_start_line() -> bool {
    const ERR_SYSTEM_FLAG: u64 = 1 << 31;
    // SAFETY: ERR_peek_last_error only reads this thread's error queue.
    let e = unsafe { ERR_peek_last_error() } as u64;
    if e & ERR_SYSTEM_FLAG != 0 {
        return false;
    }
    let lib = (e >> ERR_LIB_OFFSET) & ERR_LIB_MASK as u64;
    let reason = e & ERR_REASON_MASK as u64;
    lib == ERR_LIB_PEM as u64 && reason == PEM_R_NO_START_LINE as u64
}

/// A read-only memory BIO over `data`, which it borrows.
pub struct MemBio<'a> {
    bio: NonNull<BIO>,
    _data: PhantomData<&'a [u8]>,
}

impl<'a> MemBio<'a> {
    pub fn new(data: &'a [u8]) -> Result<MemBio<'a>, SslError> {
        let Ok(len) = c_int::try_from(data.len()) else {
            return fail(c"BIO_new_mem_buf() failed");
        };
        // An empty slice may have a dangling pointer; give OpenSSL a real one.
        let p = if data.is_empty() { c"".as_ptr() as *const c_void } else { data.as_ptr() as *const c_void };
        // SAFETY: p points at len readable bytes that outlive the BIO ('a); a memory BIO made
        // by BIO_new_mem_buf is read-only and never writes through p.
        let bio = unsafe { BIO_new_mem_buf(p, len) };
        match NonNull::new(bio) {
            Some(bio) => Ok(MemBio { bio, _data: PhantomData }),
            None => fail(c"BIO_new_mem_buf() failed"),
        }
    }

    /// Whether every byte has been read.
    pub fn at_eof(&self) -> bool {
        // SAFETY: BIO_ctrl(BIO_CTRL_EOF) (the BIO_eof macro) on our live BIO reads its state.
        unsafe { BIO_ctrl(self.bio.as_ptr(), BIO_CTRL_EOF as c_int, 0, std::ptr::null_mut()) != 0 }
    }

    /// The next PEM certificate; `Ok(None)` when no PEM object is left. `aux` reads the
    /// "TRUSTED CERTIFICATE" form too (`PEM_read_bio_X509_AUX`).
    fn read_pem_x509(&mut self, aux: bool) -> Option<X509Cert> {
        // SAFETY: our live BIO; no output object, callback or passphrase (certificates are
        // not encrypted); the result is a new X509 we own, or null.
        let x = unsafe {
            if aux {
                PEM_read_bio_X509_AUX(self.bio.as_ptr(), std::ptr::null_mut(), None, std::ptr::null_mut())
            } else {
                PEM_read_bio_X509(self.bio.as_ptr(), std::ptr::null_mut(), None, std::ptr::null_mut())
            }
        };
        NonNull::new(x).map(X509Cert)
    }

    fn read_der_x509(&mut self) -> Option<X509Cert> {
        // SAFETY: our live BIO; the result is a new X509 we own, or null.
        NonNull::new(unsafe { d2i_X509_bio(self.bio.as_ptr(), std::ptr::null_mut()) }).map(X509Cert)
    }
}

impl Drop for MemBio<'_> {
    fn drop(&mut self) {
        // SAFETY: we own the BIO; it is freed once.
        unsafe { BIO_free(self.bio.as_ptr()) };
    }
}

/// One certificate.
pub struct X509Cert(NonNull<X509>);

impl X509Cert {
    /// Its DER encoding appended to `out`.
    fn append_der(&self, out: &mut Vec<u8>) -> Result<(), SslError> {
        // SAFETY: a null output pointer makes i2d_X509 only compute the length.
        let n = unsafe { i2d_X509(self.0.as_ptr(), std::ptr::null_mut()) };
        let Ok(n) = usize::try_from(n) else { return fail(c"i2d_X509() failed") };
        let start = out.len();
        out.resize(start + n, 0);
        let mut p = out[start..].as_mut_ptr();
        // SAFETY: p points at the n bytes just reserved, the exact length i2d_X509 reported
        // for this certificate; it advances p past what it wrote.
        let written = unsafe { i2d_X509(self.0.as_ptr(), &mut p) };
        if usize::try_from(written) != Ok(n) {
            out.truncate(start);
            return fail(c"i2d_X509() failed");
        }
        Ok(())
    }
}

impl Drop for X509Cert {
    fn drop(&mut self) {
        // SAFETY: we own one reference to the certificate.
        unsafe { X509_free(self.0.as_ptr()) };
    }
}

unsafe extern "C" fn free_x509(p: *mut c_void) {
    // SAFETY: called by OPENSSL_sk_pop_free on each element of a chain, all X509 we own.
    unsafe { X509_free(p as *mut X509) };
}

/// A certificate chain, leaf first: the `STACK_OF(X509)` stream-lua hands to Lua as an opaque
/// cdata (`parse_*_cert`) and takes back in `free_cert` / `set_cert`.
/// (`#[repr(transparent)]`: `free_cert` takes it back as its parameter.)
#[repr(transparent)]
pub struct CertChain(NonNull<OPENSSL_STACK>);

impl CertChain {
    fn new() -> Result<CertChain, SslError> {
        // SAFETY: no preconditions; the result is a new empty stack we own, or null.
        match NonNull::new(unsafe { OPENSSL_sk_new_null() }) {
            Some(s) => Ok(CertChain(s)),
            None => fail(c"sk_X509_new_null() failed"),
        }
    }

    fn push(&mut self, cert: X509Cert, msg: SslError) -> Result<(), SslError> {
        // SAFETY: our live stack; on success it takes over the certificate's reference.
        if unsafe { OPENSSL_sk_push(self.0.as_ptr(), cert.0.as_ptr() as *const c_void) } == 0 {
            return fail(msg); // `cert` is dropped (freed) here
        }
        std::mem::forget(cert);
        Ok(())
    }

    /// All certificates of PEM text: the first must be there, the rest are read up to the
    /// end (anything but a clean end is an error).
    pub fn from_pem(pem: &[u8]) -> Result<CertChain, SslError> {
        let mut bio = MemBio::new(pem)?;
        let Some(first) = bio.read_pem_x509(true) else { return fail(c"PEM_read_bio_X509_AUX() failed") };
        let mut chain = CertChain::new()?;
        chain.push(first, c"sk_X509_push() failed")?;
        for cert in pem_rest(&mut bio) {
            chain.push(cert?, c"sk_X509_push() failed")?;
        }
        Ok(chain)
    }

    /// Certificates of DER data: one or more, back to back, and nothing else.
    pub fn from_der(der: &[u8]) -> Result<CertChain, SslError> {
        let mut bio = MemBio::new(der)?;
        let Some(first) = bio.read_der_x509() else { return fail(c"d2i_X509_bio() failed") };
        let mut chain = CertChain::new()?;
        chain.push(first, c"sk_X509_push() failed")?;
        while !bio.at_eof() {
            let Some(cert) = bio.read_der_x509() else { return fail(c"d2i_X509_bio() failed in rest of chain") };
            chain.push(cert, c"sk_X509_push() failed in rest of chain")?;
        }
        Ok(chain)
    }

    /// The opaque pointer handed to Lua, which gives it back to `free_cert` (as a
    /// `CertChain` again).
    pub fn into_raw(self) -> *mut c_void {
        let p = self.0.as_ptr() as *mut c_void;
        std::mem::forget(self);
        p
    }
}

impl Drop for CertChain {
    fn drop(&mut self) {
        // SAFETY: we own the stack and one reference to each of its certificates.
        unsafe { OPENSSL_sk_pop_free(self.0.as_ptr(), Some(free_x509)) };
    }
}

/// The certificates that follow the first in PEM text, until its clean end.
struct PemRest<'b, 'a> {
    bio: &'b mut MemBio<'a>,
    done: bool,
}

fn pem_rest<'b, 'a>(bio: &'b mut MemBio<'a>) -> PemRest<'b, 'a> {
    PemRest { bio, done: false }
}

impl Iterator for PemRest<'_, '_> {
    type Item = Result<X509Cert, SslError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if let Some(cert) = self.bio.read_pem_x509(false) {
            return Some(Ok(cert));
        }
        self.done = true;
        if last_error_is_pem_no_start_line() {
            clear_errors();
            return None;
        }
        Some(fail(c"PEM_read_bio_X509() failed"))
    }
}

/// The DER encodings of all certificates of PEM text, back to back.
pub fn cert_pem_to_der(pem: &[u8]) -> Result<Vec<u8>, SslError> {
    let mut bio = MemBio::new(pem)?;
    let Some(first) = bio.read_pem_x509(true) else { return fail(c"PEM_read_bio_X509_AUX() failed") };
    let mut der = Vec::with_capacity(pem.len());
    first.append_der(&mut der)?;
    for cert in pem_rest(&mut bio) {
        cert?.append_der(&mut der)?;
    }
    Ok(der)
}

/// A private key, the `EVP_PKEY` stream-lua hands to Lua as an opaque cdata.
/// (`#[repr(transparent)]`: `free_priv_key` takes it back as its parameter.)
#[repr(transparent)]
pub struct PrivKey(NonNull<EVP_PKEY>);

/// OpenSSL's passphrase callback: copies the passphrase `u` points at (a `&[u8]`), or gives
/// none. Never OpenSSL's default, which would prompt on a terminal.
unsafe extern "C" fn passphrase_cb(buf: *mut c_char, size: c_int, _rwflag: c_int, u: *mut c_void) -> c_int {
    if u.is_null() || buf.is_null() {
        return 0;
    }
    // SAFETY: u is the `&&[u8]` PrivKey::from_pem passed, live during the read.
    let pass: &[u8] = unsafe { *(u as *const &[u8]) };
    let n = pass.len().min(usize::try_from(size).unwrap_or(0));
    // SAFETY: buf has room for size bytes (OpenSSL's contract); n <= size.
    unsafe { std::ptr::copy_nonoverlapping(pass.as_ptr(), buf as *mut u8, n) };
    n as c_int
}

impl PrivKey {
    /// The first private key of PEM text, decrypted with `passphrase` when it is encrypted.
    pub fn from_pem(pem: &[u8], passphrase: Option<&[u8]>) -> Result<PrivKey, SslError> {
        let bio = MemBio::new(pem)?;
        let pass: &[u8] = passphrase.unwrap_or(&[]);
        let u = if passphrase.is_some() { &pass as *const &[u8] as *mut c_void } else { std::ptr::null_mut() };
        // SAFETY: our live BIO; the callback reads `u` (null, or `pass`, which outlives this
        // call) only during it; the result is a new key we own, or null.
        let k = unsafe { PEM_read_bio_PrivateKey(bio.bio.as_ptr(), std::ptr::null_mut(), Some(passphrase_cb), u) };
        match NonNull::new(k) {
            Some(k) => Ok(PrivKey(k)),
            None => fail(c"PEM_read_bio_PrivateKey() failed"),
        }
    }

    pub fn from_der(der: &[u8]) -> Result<PrivKey, SslError> {
        let bio = MemBio::new(der)?;
        // SAFETY: our live BIO; the result is a new key we own, or null.
        match NonNull::new(unsafe { d2i_PrivateKey_bio(bio.bio.as_ptr(), std::ptr::null_mut()) }) {
            Some(k) => Ok(PrivKey(k)),
            None => fail(c"d2i_PrivateKey_bio() failed"),
        }
    }

    /// The key's DER encoding (`i2d_PrivateKey`: the algorithm's own form, e.g. PKCS#1 for
    /// RSA).
    pub fn to_der(&self) -> Result<Vec<u8>, SslError> {
        // SAFETY: a null output pointer makes i2d_PrivateKey only compute the length.
        let n = unsafe { i2d_PrivateKey(self.0.as_ptr(), std::ptr::null_mut()) };
        let Ok(n) = usize::try_from(n) else { return fail(c"i2d_PrivateKey() failed") };
        let mut der = vec![0u8; n];
        let mut p = der.as_mut_ptr();
        // SAFETY: p points at n bytes, the exact length reported for this key.
        let written = unsafe { i2d_PrivateKey(self.0.as_ptr(), &mut p) };
        if usize::try_from(written) != Ok(n) {
            return fail(c"i2d_PrivateKey() failed");
        }
        Ok(der)
    }

    /// The opaque pointer handed to Lua, which gives it back to `free_priv_key` (as a
    /// `PrivKey` again).
    pub fn into_raw(self) -> *mut c_void {
        let p = self.0.as_ptr() as *mut c_void;
        std::mem::forget(self);
        p
    }
}

impl Drop for PrivKey {
    fn drop(&mut self) {
        // SAFETY: we own one reference to the key.
        unsafe { EVP_PKEY_free(self.0.as_ptr()) };
    }
}

/// The TLS state of a stream session's downstream connection, borrowed for as long as the
/// session.
#[derive(Clone, Copy)]
pub struct SslConn<'s>(NonNull<SSL>, NonNull<ngx_connection_t>, PhantomData<&'s SSL>);

/// A socket address as stream-lua's `raw_*_addr` give it: the binary address (4 or 16 bytes),
/// or a unix socket's path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RawAddr<'s> {
    Unix(&'s [u8]),
    Inet(&'s [u8]),
    Inet6(&'s [u8]),
}

/// The raw form of the socket address `sa` of `len` bytes.
///
/// # Safety
/// `sa` points at a socket address of `len` bytes, live and unchanged for `'s`.
unsafe fn raw_addr<'s>(sa: *const libc::sockaddr, len: libc::socklen_t) -> RawAddr<'s> {
    // SAFETY: the caller's contract; each cast matches the family the address says it has.
    unsafe {
        match c_int::from((*sa).sa_family) {
            libc::AF_INET6 => RawAddr::Inet6(&(*(sa as *const libc::sockaddr_in6)).sin6_addr.s6_addr),
            libc::AF_UNIX => {
                let path_at = std::mem::offset_of!(libc::sockaddr_un, sun_path);
                // Linux may give a unix address without any path
                if (len as usize) <= path_at {
                    return RawAddr::Unix(&[]);
                }
                let path = (*(sa as *const libc::sockaddr_un)).sun_path.as_ptr();
                RawAddr::Unix(CStr::from_ptr(path).to_bytes())
            }
            _ => {
                let a = &(*(sa as *const libc::sockaddr_in)).sin_addr.s_addr;
                RawAddr::Inet(std::slice::from_raw_parts(a as *const u32 as *const u8, 4))
            }
        }
    }
}

impl<'s> SslConn<'s> {
    /// The TLS state of connection `c`, whose OpenSSL object is `ssl`.
    ///
    /// # Safety
    /// `ssl` is `c`'s live OpenSSL object; both stay live for `'s`.
    pub(super) unsafe fn from_parts(ssl: NonNull<SSL>, c: NonNull<ngx_connection_t>) -> SslConn<'s> {
        SslConn(ssl, c, PhantomData)
    }

    /// The OpenSSL object and its connection, for the other files of the raw layer.
    pub(super) fn parts(self) -> (NonNull<SSL>, NonNull<ngx_connection_t>) {
        (self.0, self.1)
    }

    /// The connection's OpenSSL object; "bad request" when the connection has no TLS, "bad
    /// ssl conn" when it has no SSL object (stream-lua's texts).
    pub fn of(s: super::stream::StreamInfo<'s>) -> Result<SslConn<'s>, SslError> {
        // SAFETY: a live stream session (StreamInfo's contract) has a live connection or null;
        // its `ssl` is null or the connection's TLS state, which lives as long as it.
        let (c, ssl) = unsafe {
            let c = (*s.as_ptr()).connection;
            if c.is_null() || (*c).ssl.is_null() {
                return Err(c"bad request");
            }
            (NonNull::new_unchecked(c), (*(*c).ssl).connection)
        };
        NonNull::new(ssl).map(|p| SslConn(p, c, PhantomData)).ok_or(c"bad ssl conn")
    }

    /// The client's address.
    pub fn client_addr(self) -> RawAddr<'s> {
        // SAFETY: a live accepted connection: sockaddr/socklen are its peer address, in its
        // pool.
        unsafe {
            let c = self.1.as_ptr();
            raw_addr((*c).sockaddr as *const libc::sockaddr, (*c).socklen)
        }
    }

    /// The server's (local) address, looked up once (`ngx_connection_local_sockaddr`).
    pub fn server_addr(self) -> Result<RawAddr<'s>, SslError> {
        let c = self.1.as_ptr();
        // SAFETY: a live connection; nginx fills local_sockaddr in the connection's pool.
        unsafe {
            if ngx_connection_local_sockaddr(c, std::ptr::null_mut(), 0) != NGX_OK as isize {
                return Err(c"ngx_connection_local_sockaddr() failed");
            }
            Ok(raw_addr((*c).local_sockaddr as *const libc::sockaddr, (*c).local_socklen))
        }
    }

    /// The server's port; "unix domain has no port" on a unix socket.
    pub fn server_port(self) -> Result<u16, SslError> {
        let c = self.1.as_ptr();
        // SAFETY: a live connection; nginx fills local_sockaddr in the connection's pool.
        unsafe {
            if ngx_connection_local_sockaddr(c, std::ptr::null_mut(), 0) != NGX_OK as isize {
                return Err(c"ngx_connection_local_sockaddr() failed");
            }
            if c_int::from((*(*c).local_sockaddr).sa_family) == libc::AF_UNIX {
                return Err(c"unix domain has no port");
            }
            Ok(ngx_inet_get_port((*c).local_sockaddr) as u16)
        }
    }

    /// The SNI host name the client sent.
    pub fn server_name(self) -> Option<&'s CStr> {
        // SAFETY: a live SSL object; the name it returns is owned by it (its session or
        // handshake state) and is NUL-terminated.
        unsafe {
            let p = SSL_get_servername(self.0.as_ptr(), TLSEXT_NAMETYPE_host_name as c_int);
            (!p.is_null()).then(|| CStr::from_ptr(p))
        }
    }

    /// The protocol version (`TLS1_2_VERSION`, ...).
    pub fn version(self) -> c_int {
        // SAFETY: a live SSL object.
        unsafe { SSL_version(self.0.as_ptr()) }
    }

    /// Copies the ClientHello random into `out` (as much as fits); with an empty `out`, its
    /// length. Returns the count.
    pub fn client_random(self, out: &mut [u8]) -> usize {
        // SAFETY: a live SSL object; out is writable for out.len() bytes.
        unsafe { SSL_get_client_random(self.0.as_ptr(), out.as_mut_ptr(), out.len()) }
    }
}

/// What one `SSL_do_handshake` step of a server connection came to (see `phase/ssl_cert.rs`
/// for the driver that uses it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandshakeStep {
    /// The handshake is complete.
    Done,
    /// OpenSSL waits for the socket to become readable / writable.
    WantRead,
    WantWrite,
    /// Our certificate callback returned -1 (`SSL_ERROR_WANT_X509_LOOKUP`): its Lua code waits.
    WantCertCb,
    /// Our ClientHello callback returned `SSL_CLIENT_HELLO_RETRY`
    /// (`SSL_ERROR_WANT_CLIENT_HELLO_CB`): its Lua code waits.
    WantClientHelloCb,
    /// Anything else: the handshake failed (`SSL_get_error`'s code and the `errno` of the
    /// call; OpenSSL's error queue says why).
    Failed(c_int, c_int),
}

impl SslConn<'_> {
    /// One `SSL_do_handshake` call, classified. OpenSSL calls our callbacks from inside it.
    pub fn handshake_step(self) -> HandshakeStep {
        clear_errors();
        // SAFETY: a live server-side SSL object whose connection nginx set up
        // (ngx_ssl_create_connection); the callbacks it may call are ours or nginx's.
        let n = unsafe { SSL_do_handshake(self.0.as_ptr()) };
        let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        if n == 1 {
            return HandshakeStep::Done;
        }
        // SAFETY: the same SSL object, right after the call whose result n is.
        let e = unsafe { SSL_get_error(self.0.as_ptr(), n) };
        match e as u32 {
            SSL_ERROR_WANT_READ => HandshakeStep::WantRead,
            SSL_ERROR_WANT_WRITE => HandshakeStep::WantWrite,
            SSL_ERROR_WANT_X509_LOOKUP => HandshakeStep::WantCertCb,
            SSL_ERROR_WANT_CLIENT_HELLO_CB => HandshakeStep::WantClientHelloCb,
            _ => HandshakeStep::Failed(e, errno),
        }
    }
}

impl CertChain {
    /// Runs `f` on the chain `into_raw` gave out, which stays the caller's.
    ///
    /// # Safety
    /// `p` is null or came from `into_raw` and is not freed during the call.
    pub unsafe fn with_raw<R>(p: *mut c_void, f: impl FnOnce(&CertChain) -> R) -> Option<R> {
        let chain = std::mem::ManuallyDrop::new(CertChain(NonNull::new(p as *mut OPENSSL_STACK)?));
        Some(f(&chain))
    }

    /// The certificates, leaf first.
    pub(super) fn certs(&self) -> impl Iterator<Item = NonNull<X509>> + '_ {
        // SAFETY: our live stack.
        let n = unsafe { OPENSSL_sk_num(self.0.as_ptr()) }.max(0);
        // SAFETY: i < n, an index of our stack, whose elements are X509 we hold references to.
        (0..n).filter_map(move |i| NonNull::new(unsafe { OPENSSL_sk_value(self.0.as_ptr(), i) } as *mut X509))
    }
}

impl PrivKey {
    /// Runs `f` on the key `into_raw` gave out, which stays the caller's.
    ///
    /// # Safety
    /// `p` is null or came from `into_raw` and is not freed during the call.
    pub unsafe fn with_raw<R>(p: *mut c_void, f: impl FnOnce(&PrivKey) -> R) -> Option<R> {
        let key = std::mem::ManuallyDrop::new(PrivKey(NonNull::new(p as *mut EVP_PKEY)?));
        Some(f(&key))
    }
}

impl SslConn<'_> {
    /// Drops the certificates and keys this connection would present.
    pub fn clear_certs(self) {
        // SAFETY: a live SSL object.
        unsafe { SSL_certs_clear(self.0.as_ptr()) };
    }

    /// Presents `chain`: its first certificate, then the rest as the chain. The connection
    /// takes references of its own.
    pub fn use_cert_chain(self, chain: &CertChain) -> Result<(), SslError> {
        let mut certs = chain.certs();
        let Some(leaf) = certs.next() else { return fail(c"invalid certificate chain") };
        // SAFETY: a live SSL object and certificate; SSL_use_certificate takes a reference.
        if unsafe { SSL_use_certificate(self.0.as_ptr(), leaf.as_ptr()) } == 0 {
            return fail(c"SSL_use_certificate() failed");
        }
        for cert in certs {
            // SAFETY: SSL_add1_chain_cert (a macro over SSL_ctrl) on a live SSL object and
            // certificate; it takes a reference.
            let ok =
                unsafe { SSL_ctrl(self.0.as_ptr(), SSL_CTRL_CHAIN_CERT as c_int, 1, cert.as_ptr() as *mut c_void) };
            if ok == 0 {
                return fail(c"SSL_add1_chain_cert() failed");
            }
        }
        Ok(())
    }

    /// Presents `key`; refused when it does not match the certificate already set.
    pub fn use_priv_key(self, key: &PrivKey) -> Result<(), SslError> {
        // SAFETY: a live SSL object and key; SSL_use_PrivateKey takes a reference.
        if unsafe { SSL_use_PrivateKey(self.0.as_ptr(), key.0.as_ptr()) } == 0 {
            return fail(c"SSL_use_PrivateKey() failed");
        }
        Ok(())
    }
}

/// nginx's protocol bits (`NGX_SSL_*`) and the OpenSSL 3 options that turn each one off.
const PROTOCOL_OPTIONS: [(u32, u64); 5] = [
    (NGX_SSL_SSLv3, 1 << 25),
    (NGX_SSL_TLSv1, 1 << 26),
    (NGX_SSL_TLSv1_1, 1 << 28),
    (NGX_SSL_TLSv1_2, 1 << 27),
    (NGX_SSL_TLSv1_3, 1 << 29),
];

impl<'s> SslConn<'s> {
    /// The body of extension `ext_type` of the ClientHello being processed; none outside
    /// OpenSSL's ClientHello callback or when the client did not send it.
    pub fn client_hello_ext(self, ext_type: u32) -> Option<&'s [u8]> {
        let mut p: *const u8 = std::ptr::null();
        let mut len = 0usize;
        // SAFETY: a live SSL object; OpenSSL fills p/len with bytes of the ClientHello it
        // keeps until the callback returns (it answers 0 when there is none).
        unsafe {
            if SSL_client_hello_get0_ext(self.0.as_ptr(), ext_type, &mut p, &mut len) == 0 || p.is_null() {
                return None;
            }
            Some(std::slice::from_raw_parts(p, len))
        }
    }

    /// Allows exactly the protocols of `protocols` (`NGX_SSL_*` bits) on this connection.
    pub fn set_protocols(self, protocols: u32) {
        for (bit, no_option) in PROTOCOL_OPTIONS {
            // SAFETY: option changes on a live SSL object.
            unsafe {
                SSL_clear_options(self.0.as_ptr(), no_option);
                if protocols & bit == 0 {
                    SSL_set_options(self.0.as_ptr(), no_option);
                }
            }
        }
    }
}
