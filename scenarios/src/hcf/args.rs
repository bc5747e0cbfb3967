//! `coxa hcf`'s arguments.

use std::path::PathBuf;

use crate::cli::side::SideArg;
use clap::{Args, ValueEnum};

use coxa_case::msk_stage::MskActivity;

/// The activity of `coxa hcf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ActivityArg {
    /// Static one-leg stance on the operated leg.
    OneLegStance,
    /// Level walking, the first peak of the hip force (quasi-static).
    Walking,
    /// Rising from a chair, quasi-static, from seat-off to standing (`coxa_msk::rising`):
    /// the force along it (`along` in the JSON); the peak of the steps that are balanced and
    /// held by the muscles is the reported force.
    SitToStand,
}

impl From<ActivityArg> for MskActivity {
    fn from(a: ActivityArg) -> Self {
        match a {
            ActivityArg::OneLegStance => MskActivity::OneLegStance,
            ActivityArg::Walking => MskActivity::Walking,
            ActivityArg::SitToStand => MskActivity::SitToStand,
        }
    }
}

/// Arguments of `coxa hcf`.
#[derive(Debug, Clone, Args)]
pub struct HcfArgs {
    /// Pelvis landmarks, a 3D Slicer markups file (.fcsv, LPS or RAS, or .mrk.json; mm) with
    /// HJC_L and HJC_R.
    #[arg(long, required_unless_present = "motion")]
    pub pelvis_landmarks: Option<PathBuf>,
    /// Femur landmarks (.fcsv or .mrk.json, mm) with HJC, P1, P2, MPC, LPC, MEC, LEC (suffix
    /// _L/_R allowed).
    #[arg(long, required_unless_present = "motion")]
    pub femur_landmarks: Option<PathBuf>,
    /// The femur's side: left or right, or L or R (with `--motion`: the hip whose force is computed, default right).
    #[arg(long, value_enum, ignore_case = true, required_unless_present = "motion")]
    pub side: Option<SideArg>,
    /// Body weight, N.
    #[arg(long)]
    pub body_weight_n: f64,
    /// The activity.
    #[arg(long, value_enum, required_unless_present = "motion")]
    pub activity: Option<ActivityArg>,
    /// The OpenSim model (.osim, gait2392 names); default `$COXA_OSIM_MODEL`, else the built-in
    /// gait2392 (Delp et al. 1990, CC BY 3.0).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Planned change of femoral offset, mm (+: the femur moves laterally from the head centre).
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    pub offset_change_mm: f64,
    /// Planned change of leg length, mm (+: longer leg).
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    pub leg_length_change_mm: f64,
    /// Planned shift of the centre of rotation (cup centre) as ANTERIOR,SUPERIOR,LATERAL mm,
    /// e.g. 0,2,-3 for 2 mm up and 3 mm medial.
    #[arg(long, value_name = "A,S,L", allow_hyphen_values = true)]
    pub cor_shift_mm: Option<String>,
    /// Also write the personalised (scaled and planned) model as an OpenSim .osim file, with the
    /// plan on the patient's side, weighing --body-weight-n; the file must not exist. With
    /// one-leg stance, also OpenSim 4.6 set-ups beside it that re-run the hip force (the
    /// posture .mot, ExternalLoads, StaticOptimization and JointReaction set-ups, coxa's force
    /// under JointReaction's names); with --bones, the pelvis and femurs display the patient's
    /// own surfaces (STL beside it).
    #[arg(long)]
    pub export_osim: Option<PathBuf>,
    /// Also write every muscle's force as an OpenSim storage file (.sto: one row at time 0, N);
    /// the file must not exist.
    #[arg(long)]
    pub forces_sto: Option<PathBuf>,
    /// The patient's muscle measures for the strength from the CT: an `anatomy.json` of
    /// `coxa anatomy` (its `muscles`: volumes, lean fractions, `_left`/`_right` classes), or a
    /// JSON array of those records.
    #[arg(long)]
    pub muscles: Option<PathBuf>,
    /// Also write the activity's posture(s) as an OpenSim motion (.mot: every coordinate of the
    /// planned model, degrees; one row, or the steps of sit-to-stand); the file must not exist.
    #[arg(long)]
    pub motion_mot: Option<PathBuf>,
    /// The patient's bone surfaces: the `meshes` folder of `coxa anatomy` (hip_left.stl,
    /// hip_right.stl, sacrum.stl and the femurs, in the landmarks' LPS mm frame). The model's
    /// pelvis and femurs are then registered onto them (`coxa_msk::bone_geometry`: muscle
    /// attachments, wrap objects and hip centres carried to the patient's bones) instead of
    /// scaled by landmarks; the pelvis landmarks must then have ASIS_L, ASIS_R and PT_L/PT_R.
    #[arg(long)]
    pub bones: Option<PathBuf>,
    /// With `--bones`: the model's Geometry folder (its bones' .vtp surfaces); default the
    /// `Geometry` folder beside `--model` (needed with the built-in model).
    #[arg(long)]
    pub bone_geometry: Option<PathBuf>,
    /// A measured motion instead of a quasi-static activity: an OpenSim inverse-kinematics
    /// `.mot` (coordinates over time) of `--model` as it is (scale it in OpenSim first), with
    /// `--grf`; the force per frame goes to `--out` (`coxa_msk::motion`).
    #[arg(long, requires = "grf", conflicts_with_all = ["pelvis_landmarks", "femur_landmarks", "activity", "bones", "muscles", "export_osim", "cor_shift_mm", "motion_mot", "forces_sto", "walking_hip_moment"])]
    pub motion: Option<PathBuf>,
    /// With `--motion`: the ground reactions, OpenSim's external-loads `.mot` (ground_force_vx..,
    /// ground_force_px.., ground_torque_x.., N, m, N m, in ground; a second plate `1_`-prefixed).
    #[arg(long, requires = "motion")]
    pub grf: Option<PathBuf>,
    /// With `--motion`: the body the first plate (`ground_force_*`) loads.
    #[arg(long, default_value = "calcn_r")]
    pub grf_body: String,
    /// With `--motion`: the body the second plate (`1_ground_force_*`) loads, when the file has
    /// it; default the other foot's calcaneus.
    #[arg(long)]
    pub grf_body_1: Option<String>,
    /// With `--motion`: low-pass filter the coordinates at this cutoff, Hz (4th-order zero-lag
    /// Butterworth; e.g. 6 for measured gait); default none.
    #[arg(long)]
    pub lowpass_hz: Option<f64>,
    /// With `--motion`: only frames from this time on, s.
    #[arg(long, allow_hyphen_values = true)]
    pub start_s: Option<f64>,
    /// With `--motion`: only frames up to this time, s.
    #[arg(long, allow_hyphen_values = true)]
    pub end_s: Option<f64>,
    /// With `--motion`: muscles at their isometric strength (no force-velocity curve).
    #[arg(long, requires = "motion")]
    pub isometric: bool,
    /// With `--motion`: leave the muscles' passive fibre force out of the static optimisation,
    /// as OpenSim's StaticOptimization does (default: added to the loads). For models scaled
    /// without rescaling their fibre and tendon slack lengths, whose stretched fibres would
    /// otherwise pull with forces no muscle activation can undo.
    #[arg(long, requires = "motion")]
    pub no_passive_force: bool,
    /// With `--motion`: write the hip contact force per frame as an OpenSim .sto (femur frame,
    /// N and % body weight, magnitude, largest reserve, stance); the file must not exist.
    #[arg(long, requires = "motion")]
    pub out: Option<PathBuf>,
    /// With `--motion`: write the inverse dynamics (every coordinate's generalised force, as
    /// OpenSim's InverseDynamicsTool names them) as a .sto; the file must not exist.
    #[arg(long, requires = "motion")]
    pub id_sto: Option<PathBuf>,
    /// With `--activity walking`: the patient's measured net internal hip moments at the first
    /// peak of the hip force (about 17 % of the gait cycle, from a gait laboratory's inverse
    /// dynamics) as ABDUCTOR,EXTENSOR in N m per kg of body mass, e.g. 0.6,0.3. They replace the
    /// quasi-static posture's estimate (about 0.8-0.9 abductor), which dominates the walking
    /// force: about 20 %BW per 0.1 N m/kg (README, "What the walking force rests on").
    #[arg(long, value_name = "ABD,EXT", allow_hyphen_values = true)]
    pub walking_hip_moment: Option<String>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}
