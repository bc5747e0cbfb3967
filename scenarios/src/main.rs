//! The `coxa` program. See `coxa --help`.
//!
//! Exit status: 0 done; 1 the work ran but some of it failed (cases of a run, an internal error);
//! 2 bad input or usage ([`coxa_case::ErrorKind`]).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    quiet_vulkan_layer();
    // The records' `coxa_version` names this build (window or headless).
    coxa_case::stamp::set_build(coxa_scenarios::view::BUILD);
    let cli = match coxa_scenarios::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            // A flag or value clap refuses: one line, as every other error.
            eprintln!("{}", coxa_scenarios::cli::one_line_usage_error(&e));
            return ExitCode::from(2);
        }
    };
    // COXA_LOG (a tracing filter) first; else -v (info: the stages and notes), -vv (debug);
    // else warnings only.
    let level = match cli.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("COXA_LOG").unwrap_or_else(|_| {
            // The renderer's notes (software rendering is slow, adapter details) are not the user's concern.
            format!("{level},bevy_render=error,bevy_winit=error,winit=error,wgpu=error,wgpu_core=error,wgpu_hal=error,naga=error").into()
        }))
        .with_writer(std::io::stderr)
        .init();
    coxa_scenarios::cli::progress::set_quiet(cli.quiet);
    quiet_panics();
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| coxa_scenarios::cli::run(cli))) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("error: {}", coxa_scenarios::cli::one_line(&e));
            ExitCode::from(coxa_scenarios::cli::exit_status(&e))
        }
        // A panic is coxa's own fault, not the input's: the work failed.
        Err(_) => {
            let what = LAST_PANIC.lock().ok().and_then(|p| p.clone()).unwrap_or_default();
            eprintln!("error: coxa stopped on an internal error ({what}); please report it with the command that caused it (COXA_LOG=debug shows where)");
            ExitCode::from(coxa_case::ErrorKind::Failed.exit_status())
        }
    }
}

/// The last panic's message and place, for the one line an uncaught panic ends with.
static LAST_PANIC: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Panics print nothing on the terminal: a panic that a reader catches (truck's STEP
/// tessellator on a 1e400 mm radius) is that file's error, reported in one line by the reader,
/// and one that nothing catches ends in `main`'s one line. The message, its place and the
/// backtrace (`RUST_BACKTRACE`) go to the log (`COXA_LOG=debug`, issue 61).
fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        let what = info.payload().downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| info.payload().downcast_ref::<String>().cloned()).unwrap_or_default();
        let place = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        tracing::debug!("panic: {what}{place}\n{}", std::backtrace::Backtrace::capture());
        if let Ok(mut last) = LAST_PANIC.lock() {
            *last = Some(format!("{what}{place}"));
        }
    }));
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
