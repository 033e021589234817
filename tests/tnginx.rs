//! `cargo test --release --test t`: runs the Test::Nginx-format files of `t/` with the
//! Perl-free runner of `crates/tnginx` (see its lib.rs for the environment it reads).

fn main() {
    tnginx::main(std::path::Path::new(env!("CARGO_MANIFEST_DIR")));
}
