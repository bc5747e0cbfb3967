//! The operated side as the commands take it: a leaf module, so that command modules outside
//! `cli/` (`hcf`, `xray`) can name it without a file circle through `cli/mod.rs`.

/// The operated side on the command line (`--side left|right`; `L` and `R` are accepted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SideArg {
    /// The left hip.
    #[value(name = "left", alias = "L", alias = "l")]
    Left,
    /// The right hip.
    #[value(name = "right", alias = "R", alias = "r")]
    Right,
}

impl From<SideArg> for coxa_core::Side {
    fn from(s: SideArg) -> Self {
        match s {
            SideArg::Left => coxa_core::Side::Left,
            SideArg::Right => coxa_core::Side::Right,
        }
    }
}
