-- stream-lua-rs built-in Lua layer, loaded first: the one place that declares the C side
-- the rest of the layer calls through ffi.C (our exported ngx_stream_lua_* functions, the
-- nginx and libc functions used directly, and the types they take), one group per area.
--
-- The signatures are the exported ABI's, as lua-resty-core 0.1.31 declares them for
-- stream. LuaJIT keeps the first declaration of a function or typedef and silently skips
-- a later one, so a real lua-resty-core loaded on top (whose own cdefs run after these) and
-- user code declaring the same names both load; only a second body for a named struct
-- would be refused, and none is declared here. The other files cache `ffi.C` (or single
-- C functions) in upvalues when they load, so calls cost no lookup.
local cdef = require("ffi").cdef

local groups = {
    -- the types the signatures below (and FFI users) name
    types = [[
typedef struct { size_t len; const unsigned char *data; } ngx_str_t;
typedef struct ngx_stream_lua_request_s ngx_stream_lua_request_t;
typedef struct { int len; const unsigned char *data; } ngx_stream_lua_ffi_str_t;
typedef struct { ngx_str_t value; void *lengths; void *values; } ngx_stream_lua_complex_value_t;
typedef struct { void *pool; unsigned char *name_table; int name_count; int name_entry_size; int ncaptures; int *captures; void *regex; void *regex_sd; ngx_stream_lua_complex_value_t *replace; const char *pattern; } ngx_stream_lua_regex_t;
struct ngx_stream_lua_script_engine_s;
typedef struct ngx_stream_lua_script_engine_s *ngx_stream_lua_script_engine_t;
struct ngx_stream_lua_sema_s;
typedef struct ngx_stream_lua_sema_s ngx_stream_lua_sema_t;
]],

    -- the running session: which one, its phase, ctx, variables, status, exit
    session = [[
ngx_stream_lua_request_t *ngx_stream_lua_rs_get_request(void);
ngx_stream_lua_request_t *ngx_stream_lua_rs_running;
int ngx_stream_lua_ffi_get_phase(ngx_stream_lua_request_t *r, char **err);
int ngx_stream_lua_ffi_get_ctx_ref(ngx_stream_lua_request_t *r, int *in_ssl_phase, int *ssl_ctx_ref);
int ngx_stream_lua_ffi_set_ctx_ref(ngx_stream_lua_request_t *r, int ref);
int ngx_stream_lua_ffi_var_get(ngx_stream_lua_request_t *r, const char *name_data, size_t name_len, char *lowcase_buf, int capture_id, char **value, size_t *value_len, char **err);
int ngx_stream_lua_ffi_var_set(ngx_stream_lua_request_t *r, const unsigned char *name_data, size_t name_len, unsigned char *lowcase_buf, const unsigned char *value, size_t value_len, unsigned char *errbuf, size_t *errlen);
int ngx_stream_lua_ffi_get_resp_status(ngx_stream_lua_request_t *r);
int ngx_stream_lua_ffi_exit(ngx_stream_lua_request_t *r, int status, unsigned char *err, size_t *errlen);
double ngx_stream_lua_ffi_req_start_time(ngx_stream_lua_request_t *r);
]],

    -- workers and processes, and the env directives seen while the configuration loads
    process = [[
int ngx_stream_lua_ffi_worker_count(void);
int ngx_stream_lua_ffi_worker_exiting(void);
int ngx_stream_lua_ffi_worker_id(void);
int ngx_stream_lua_ffi_worker_pid(void);
int ngx_stream_lua_ffi_worker_pids(int *pids, size_t *pids_len);
int ngx_stream_lua_ffi_get_process_type(void);
int ngx_stream_lua_ffi_master_pid(void);
void ngx_stream_lua_ffi_process_signal_graceful_exit(void);
int ngx_stream_lua_ffi_enable_privileged_agent(char **err, unsigned int connections);
int ngx_stream_lua_ffi_get_conf_env(const unsigned char *name, unsigned char **env_buf, size_t *name_len);
]],

    -- nginx's cached clock: the dates it writes, its seconds; and the module's monotonic one
    time = [[
void ngx_stream_lua_ffi_utctime(unsigned char *buf);
void ngx_stream_lua_ffi_localtime(unsigned char *buf);
void ngx_stream_lua_ffi_today(unsigned char *buf);
double ngx_stream_lua_ffi_now(void);
long ngx_stream_lua_ffi_time(void);
void ngx_stream_lua_ffi_update_time(void);
long ngx_stream_lua_ffi_monotonic_msec(void);
]],

    -- hashes, base64 (ngx.* and ngx.base64's URL-safe one, nginx's own) and URI escaping
    strings = [[
unsigned int ngx_stream_lua_ffi_crc32_short(const unsigned char *src, size_t len);
unsigned int ngx_stream_lua_ffi_crc32_long(const unsigned char *src, size_t len);
void ngx_stream_lua_ffi_md5(const unsigned char *src, size_t len, unsigned char *dst);
void ngx_stream_lua_ffi_md5_bin(const unsigned char *src, size_t len, unsigned char *dst);
int ngx_stream_lua_ffi_sha1_bin(const unsigned char *src, size_t len, unsigned char *dst);
size_t ngx_stream_lua_ffi_encode_base64(const unsigned char *src, size_t len, unsigned char *dst, int no_padding);
int ngx_stream_lua_ffi_decode_base64(const unsigned char *src, size_t len, unsigned char *dst, size_t *dlen);
intptr_t ngx_decode_base64url(ngx_str_t *dst, ngx_str_t *src);
void ngx_encode_base64url(ngx_str_t *dst, ngx_str_t *src);
size_t ngx_stream_lua_ffi_uri_escaped_length(const unsigned char *src, size_t len, int type);
void ngx_stream_lua_ffi_escape_uri(const unsigned char *src, size_t len, unsigned char *dst, int type);
size_t ngx_stream_lua_ffi_unescape_uri(const unsigned char *src, size_t len, unsigned char *dst);
]],

    -- ngx.re and the ngx.re module (PCRE2)
    regex = [[
ngx_stream_lua_regex_t *ngx_stream_lua_ffi_compile_regex(const unsigned char *pat, size_t pat_len, int flags, int pcre_opts, unsigned char *errstr, size_t errstr_size);
int ngx_stream_lua_ffi_compile_replace_template(ngx_stream_lua_regex_t *re, const unsigned char *replace_data, size_t replace_len);
void ngx_stream_lua_ffi_destroy_regex(ngx_stream_lua_regex_t *re);
int ngx_stream_lua_ffi_exec_regex(ngx_stream_lua_regex_t *re, int flags, const unsigned char *s, size_t len, int pos);
uint32_t ngx_stream_lua_ffi_max_regex_cache_size(void);
const char *ngx_stream_lua_ffi_pcre_version(void);
int ngx_stream_lua_ffi_set_jit_stack_size(int size, unsigned char *errstr, size_t *errstr_size);
ngx_stream_lua_script_engine_t *ngx_stream_lua_ffi_create_script_engine(void);
void ngx_stream_lua_ffi_destroy_script_engine(ngx_stream_lua_script_engine_t *e);
void ngx_stream_lua_ffi_init_script_engine(ngx_stream_lua_script_engine_t *e, const unsigned char *subj, ngx_stream_lua_regex_t *compiled, int count);
size_t ngx_stream_lua_ffi_script_eval_data(ngx_stream_lua_script_engine_t *e, ngx_stream_lua_complex_value_t *cv, unsigned char *dst);
size_t ngx_stream_lua_ffi_script_eval_len(ngx_stream_lua_script_engine_t *e, ngx_stream_lua_complex_value_t *cv);
]],

    -- ngx.shared.DICT (the list calls are ours: stream-lua-rs exports, not upstream's)
    shdict = [[
void *ngx_stream_lua_ffi_shdict_udata_to_zone(void *zone_udata);
int ngx_stream_lua_ffi_shdict_store(void *zone, int op, const unsigned char *key, size_t key_len, int value_type, const unsigned char *str_value_buf, size_t str_value_len, double num_value, long exptime, int user_flags, char **errmsg, int *forcible);
int ngx_stream_lua_ffi_shdict_get(void *zone, const unsigned char *key, size_t key_len, int *value_type, unsigned char **str_value_buf, size_t *str_value_len, double *num_value, int *user_flags, int get_stale, int *is_stale, char **errmsg);
int ngx_stream_lua_ffi_shdict_incr(void *zone, const unsigned char *key, size_t key_len, double *value, char **err, int has_init, double init, long init_ttl, int *forcible);
long ngx_stream_lua_ffi_shdict_get_ttl(void *zone, const unsigned char *key, size_t key_len);
int ngx_stream_lua_ffi_shdict_set_expire(void *zone, const unsigned char *key, size_t key_len, long exptime);
int ngx_stream_lua_ffi_shdict_flush_all(void *zone);
size_t ngx_stream_lua_ffi_shdict_capacity(void *zone);
size_t ngx_stream_lua_ffi_shdict_free_space(void *zone);
int ngx_stream_lua_rs_ffi_shdict_push(void *zone, int front, const unsigned char *key, size_t key_len, int value_type, const unsigned char *str_value, size_t str_len, double num_value);
int ngx_stream_lua_rs_ffi_shdict_pop(void *zone, int front, const unsigned char *key, size_t key_len, int *value_type, unsigned char **str_value, size_t *str_len, double *num_value, char **errmsg);
int ngx_stream_lua_rs_ffi_shdict_llen(void *zone, const unsigned char *key, size_t key_len);
]],

    -- ngx.semaphore
    semaphore = [[
void ngx_stream_lua_ffi_sema_gc(ngx_stream_lua_sema_t *sem);
int ngx_stream_lua_ffi_sema_count(ngx_stream_lua_sema_t *sem);
int ngx_stream_lua_ffi_sema_post(ngx_stream_lua_sema_t *sem, int n);
int ngx_stream_lua_ffi_sema_new(ngx_stream_lua_sema_t **psem, int n, char **errmsg);
int ngx_stream_lua_ffi_sema_wait(ngx_stream_lua_request_t *r, ngx_stream_lua_sema_t *sem, int wait_ms, unsigned char *errstr, size_t *errlen);
]],

    -- ngx.errlog
    errlog = [[
int ngx_stream_lua_ffi_raw_log(ngx_stream_lua_request_t *r, int level, const unsigned char *s, size_t s_len);
int ngx_stream_lua_ffi_errlog_get_sys_filter_level(ngx_stream_lua_request_t *r);
int ngx_stream_lua_ffi_errlog_set_filter_level(int level, unsigned char *err, size_t *errlen);
int ngx_stream_lua_ffi_errlog_get_msg(char **log, int *loglevel, unsigned char *err, size_t *errlen, double *log_time);
]],

    -- ngx.balancer
    balancer = [[
int ngx_stream_lua_ffi_balancer_set_current_peer(ngx_stream_lua_request_t *r, const unsigned char *addr, size_t addr_len, int port, char **err);
int ngx_stream_lua_ffi_balancer_set_more_tries(ngx_stream_lua_request_t *r, int count, char **err);
int ngx_stream_lua_ffi_balancer_get_last_failure(ngx_stream_lua_request_t *r, int *status, char **err);
int ngx_stream_lua_ffi_balancer_set_timeouts(ngx_stream_lua_request_t *r, long connect_timeout, long timeout, char **err);
int ngx_stream_lua_ffi_balancer_bind_to_local_addr(ngx_stream_lua_request_t *r, const char *addr, size_t addr_len, char *errbuf, size_t *errbuf_size);
]],

    -- ngx.ssl and ngx.ssl.clienthello: PEM/DER, parsed certificates and keys, the
    -- connection's TLS state, the ClientHello (exported only with the stream SSL module)
    ssl = [[
int ngx_stream_lua_ffi_cert_pem_to_der(const unsigned char *pem, size_t pem_len, unsigned char *der, char **err);
int ngx_stream_lua_ffi_priv_key_pem_to_der(const unsigned char *pem, size_t pem_len, const unsigned char *passphrase, unsigned char *der, char **err);
void *ngx_stream_lua_ffi_parse_pem_cert(const unsigned char *pem, size_t pem_len, char **err);
void *ngx_stream_lua_ffi_parse_der_cert(const unsigned char *der, size_t der_len, char **err);
void *ngx_stream_lua_ffi_parse_pem_priv_key(const unsigned char *pem, size_t pem_len, char **err);
void *ngx_stream_lua_ffi_parse_der_priv_key(const unsigned char *der, size_t der_len, char **err);
void ngx_stream_lua_ffi_free_cert(void *cdata);
void ngx_stream_lua_ffi_free_priv_key(void *cdata);
int ngx_stream_lua_ffi_ssl_server_name(ngx_stream_lua_request_t *r, char **name, size_t *namelen, char **err);
int ngx_stream_lua_ffi_ssl_get_tls1_version(ngx_stream_lua_request_t *r, char **err);
int ngx_stream_lua_ffi_ssl_raw_server_addr(ngx_stream_lua_request_t *r, char **addr, size_t *addrlen, int *addrtype, char **err);
int ngx_stream_lua_ffi_ssl_raw_client_addr(ngx_stream_lua_request_t *r, char **addr, size_t *addrlen, int *addrtype, char **err);
int ngx_stream_lua_ffi_ssl_server_port(ngx_stream_lua_request_t *r, unsigned short *server_port, char **err);
int ngx_stream_lua_ffi_ssl_clear_certs(ngx_stream_lua_request_t *r, char **err);
int ngx_stream_lua_ffi_ssl_set_der_certificate(ngx_stream_lua_request_t *r, const char *data, size_t len, char **err);
int ngx_stream_lua_ffi_ssl_set_der_private_key(ngx_stream_lua_request_t *r, const char *data, size_t len, char **err);
int ngx_stream_lua_ffi_set_cert(void *r, void *cdata, char **err);
int ngx_stream_lua_ffi_set_priv_key(void *r, void *cdata, char **err);
int ngx_stream_lua_ffi_ssl_verify_client(void *r, void *client_certs, void *trusted_certs, int depth, char **err);
int ngx_stream_lua_ffi_ssl_client_random(ngx_stream_lua_request_t *r, unsigned char *out, size_t *outlen, char **err);
int ngx_stream_lua_ffi_ssl_get_client_hello_server_name(ngx_stream_lua_request_t *r, const char **name, size_t *namelen, char **err);
int ngx_stream_lua_ffi_ssl_get_client_hello_ext(ngx_stream_lua_request_t *r, unsigned int type, const unsigned char **out, size_t *outlen, char **err);
int ngx_stream_lua_ffi_ssl_set_protocols(ngx_stream_lua_request_t *r, int protocols, char **err);
]],

    -- libc: the malloc'ed values shdict hands back; cjson's number printing
    libc = [[
void free(void *ptr);
int snprintf(char *str, size_t size, const char *format, ...);
]],
}

-- in dependency order: the types first
for _, area in ipairs { "types", "session", "process", "time", "strings", "regex", "shdict",
                        "semaphore", "errlog", "balancer", "ssl", "libc" } do
    cdef(groups[area])
end
