//! The `session` binary. All of it is in the library, so it can be documented and tested; this
//! file must stay a one-line call.

fn main() -> std::process::ExitCode {
    session_cli::run()
}
