# nginx addon file, read when auto/configure writes objs/Makefile (see nginx-config/config).
# The static library is cargo's to keep up to date, so its rule always runs; the module's
# link rule (written by nginx) gets it as a dependency here.

cat << END                                                    >> $NGX_MAKEFILE

.PHONY: $ngx_stream_lua_lib

$ngx_stream_lua_lib:
	NGINX_SOURCE_DIR="$PWD" NGINX_BUILD_DIR="$ngx_stream_lua_objs" \\
	$NGX_CARGO rustc --lib --release --locked --crate-type staticlib --no-default-features $ngx_stream_lua_features \\
		--manifest-path "$ngx_stream_lua_root/Cargo.toml" \\
		--target-dir "$ngx_stream_lua_target" $NGX_CARGO_FLAGS

$NGX_OBJS${ngx_dirsep}ngx_stream_lua_module$ngx_modext: $ngx_stream_lua_lib

END
