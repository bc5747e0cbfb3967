//! The `coxa` program. See `coxa --help`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("COXA_LOG").unwrap_or_else(|_| {
            // The renderer's notes (software rendering is slow, adapter details) are not the user's concern.
            "warn,bevy_render=error,bevy_winit=error,winit=error,wgpu=error,wgpu_core=error,wgpu_hal=error,naga=error".into()
        }))
        .with_writer(std::io::stderr)
        .init();
    let cli = coxa_scenarios::cli::Cli::parse();
    match coxa_scenarios::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the message and every cause it does not already quote.
            let mut msg = e.to_string();
            for cause in e.chain().skip(1) {
                let text = cause.to_string();
                if !msg.contains(&text) {
                    msg.push_str(": ");
                    msg.push_str(&text);
                }
            }
            eprintln!("error: {}", msg.replace('\n', " "));
            ExitCode::from(2)
        }
    }
}
