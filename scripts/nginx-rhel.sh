#!/usr/bin/env bash
# Prepares build/nginx-rhel: nginx 1.28.3 (the nginx-src crate's source) configured with the
# arguments RHEL 9's and Fedora's nginx packages print in `nginx -V` (--with-compat, stream and
# mail as dynamic modules, their paths), then builds its nginx binary and its dynamic stream
# module. It stands in for RHEL's nginx + nginx-mod-stream + nginx-mod-devel: the RPM is built
# against this tree and its files are loaded into this nginx. Re-running it reuses the tree.
#
# Left out of RHEL's flags: the Red Hat-only `-specs=...` and LTO compiler options (the
# hardening flags themselves stay).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DEST=$ROOT/build/nginx-rhel

# What configure checks for: the perl, xslt, image_filter and google_perftools modules.
scripts/apt-need.sh make gcc libpcre2-dev libssl-dev zlib1g-dev libperl-dev libxslt1-dev \
    libgd-dev libgoogle-perftools-dev

RHEL_ARGS=(
    --prefix=/usr/share/nginx --sbin-path=/usr/sbin/nginx --modules-path=/usr/lib64/nginx/modules
    --conf-path=/etc/nginx/nginx.conf --error-log-path=/var/log/nginx/error.log
    --http-log-path=/var/log/nginx/access.log
    --http-client-body-temp-path=/var/lib/nginx/tmp/client_body
    --http-proxy-temp-path=/var/lib/nginx/tmp/proxy --http-fastcgi-temp-path=/var/lib/nginx/tmp/fastcgi
    --http-uwsgi-temp-path=/var/lib/nginx/tmp/uwsgi --http-scgi-temp-path=/var/lib/nginx/tmp/scgi
    --pid-path=/run/nginx.pid --lock-path=/run/lock/subsys/nginx --user=nginx --group=nginx
    --with-compat --with-debug --with-file-aio --with-google_perftools_module
    --with-http_addition_module --with-http_auth_request_module --with-http_dav_module
    --with-http_degradation_module --with-http_flv_module --with-http_gunzip_module
    --with-http_gzip_static_module --with-http_image_filter_module=dynamic --with-http_mp4_module
    --with-http_perl_module=dynamic --with-http_random_index_module --with-http_realip_module
    --with-http_secure_link_module --with-http_slice_module --with-http_ssl_module
    --with-http_stub_status_module --with-http_sub_module --with-http_v2_module
    --with-http_xslt_module=dynamic --with-mail=dynamic --with-mail_ssl_module --with-pcre
    --with-pcre-jit --with-stream=dynamic --with-stream_realip_module --with-stream_ssl_module
    --with-stream_ssl_preread_module --with-threads
    "--with-cc-opt=-O2 -fexceptions -g -grecord-gcc-switches -pipe -Wall -Werror=format-security -Wp,-D_FORTIFY_SOURCE=2 -Wp,-D_GLIBCXX_ASSERTIONS -fstack-protector-strong -m64 -mtune=generic -fasynchronous-unwind-tables -fstack-clash-protection -fcf-protection"
    "--with-ld-opt=-Wl,-z,relro -Wl,--as-needed -Wl,-z,now -Wl,-E"
)

scripts/build-nginx.sh "$DEST" objs/nginx objs/ngx_stream_module.so -- "${RHEL_ARGS[@]}"
