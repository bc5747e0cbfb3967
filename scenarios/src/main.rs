//! The `coxa` program. See `coxa --help`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    quiet_vulkan_layer();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("COXA_LOG").unwrap_or_else(|_| {
            // The renderer's notes (software rendering is slow, adapter details) are not the user's concern.
            "warn,bevy_render=error,bevy_winit=error,winit=error,wgpu=error,wgpu_core=error,wgpu_hal=error,naga=error".into()
        }))
        .with_writer(std::io::stderr)
        .init();
    let cli = match coxa_scenarios::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            // A flag or value clap refuses: one line, as every other error.
            eprintln!("{}", coxa_scenarios::cli::one_line_usage_error(&e));
            return ExitCode::from(2);
        }
    };
    match coxa_scenarios::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", coxa_scenarios::cli::one_line(&e));
            ExitCode::from(2)
        }
    }
}

/// Mesa's implicit Vulkan layer `VkLayer_MESA_device_select` looks for a Wayland display to pick
/// the GPU that drives it, and where `XDG_RUNTIME_DIR` is unset or not a folder (a server, a
/// container, CI, `sudo`) libwayland prints "XDG_RUNTIME_DIR is invalid or not set in the
/// environment." twice before coxa's own output. Without that folder there is no Wayland display to
/// select by, so the layer is switched off (`NODEVICE_SELECT=1`, Mesa's own switch) for this process
/// only; a user who sets `NODEVICE_SELECT` keeps their choice, and a desktop session is untouched.
fn quiet_vulkan_layer() {
    let runtime_dir_ok = std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|d| std::path::Path::new(&d).is_dir());
    if !runtime_dir_ok && std::env::var_os("NODEVICE_SELECT").is_none() {
        // SAFETY: the first statement of `main`, before any thread exists (nothing reads or writes
        // the environment concurrently).
        #[allow(unsafe_code, reason = "set_var before any thread starts")]
        unsafe {
            std::env::set_var("NODEVICE_SELECT", "1");
        }
    }
}
