use std::process::ExitCode;

fn main() -> ExitCode {
    factory_twin::cli::main()
}
