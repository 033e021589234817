# See config: nginx reads this file of the directory given to --add-dynamic-module.
. "$ngx_addon_dir/nginx-config/config.make"
