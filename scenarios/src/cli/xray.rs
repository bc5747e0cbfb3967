//! `coxa xray`: a simulated radiograph of a CT with the plan's implants; the work is
//! [`coxa_case::xray`]'s.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use coxa_case::xray::{ViewOptions, XrayRequest};
use coxa_core::Side;
use coxa_diagnostics::drr::{self, View};

/// Arguments of `coxa xray`.
#[derive(Debug, Args)]
pub struct XrayArgs {
    /// The CT: DICOM folder or file, or NIfTI.
    #[arg(long)]
    pub ct: PathBuf,
    /// A label map on the CT's grid (TotalSegmentator ids) for the landmarks; default: coxa
    /// segments the bones.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// A `coxa plan` folder: its implants are projected and its cup measured.
    #[arg(long)]
    pub plan: Option<PathBuf>,
    /// ap-pelvis or lateral-hip.
    #[arg(long, default_value = "ap-pelvis", value_parser = coxa_case::xray::parse_view)]
    pub view: View,
    /// The hip of a lateral view (default: the plan's side, else right).
    #[arg(long, ignore_case = true)]
    pub side: Option<super::side::SideArg>,
    /// table (the CT's axes) or pelvis (the anterior pelvic plane), for the AP view.
    #[arg(long, default_value = "table")]
    pub align: String,
    /// Where the AP view's central ray goes: pelvis (between the hip centres, an AP pelvis) or
    /// hip (the operated hip: the plan's cup centre, else the `--side` femoral head; an AP hip).
    #[arg(long, default_value = "pelvis")]
    pub centre: String,
    /// Source-to-image distance, mm.
    #[arg(long, default_value_t = drr::DEFAULT_SID_MM)]
    pub sid_mm: f64,
    /// Detector pixel size (imager pixel spacing), mm.
    #[arg(long, default_value_t = 0.42)]
    pub pixel_mm: f64,
    /// Detector columns and rows.
    #[arg(long, default_value_t = 1024)]
    pub size: usize,
    /// Output image: .png (measures drawn) or .dcm (DICOM DX); must not exist. The measures go to
    /// the same name with .json.
    #[arg(long)]
    pub out: PathBuf,
    /// Print the measures as JSON.
    #[arg(long)]
    pub json: bool,
}

impl XrayArgs {
    /// The library's request of these flags.
    pub fn request(&self) -> XrayRequest {
        let view =
            ViewOptions { view: self.view, side: self.side.map(Side::from), align: self.align.clone(), centre: self.centre.clone(), sid_mm: self.sid_mm, pixel_mm: self.pixel_mm, size: self.size };
        XrayRequest { ct: self.ct.clone(), labels: self.labels.clone(), plan: self.plan.clone(), out: self.out.clone(), view }
    }
}

/// `coxa xray` as the command line runs it.
pub fn cli(args: &XrayArgs) -> Result<()> {
    let m = coxa_case::xray::run(&args.request())?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&m)?);
    } else {
        println!("wrote {} and {}", args.out.display(), args.out.with_extension("json").display());
    }
    Ok(())
}
