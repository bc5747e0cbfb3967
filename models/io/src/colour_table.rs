//! 3D Slicer colour tables (`.ctbl`) for label maps: one line `id name R G B A` per class, so a
//! `labels.nii.gz` loaded in Slicer as a label map shows coxa's class names and colours
//! (Slicer: load the table, then pick it in the label map's display).
//!
//! The colours: bone ivory, each muscle group its own red or orange, left and right slightly
//! apart; any other class a colour spread around the hue circle by its id.

use std::io::Write;
use std::path::Path;

use coxa_core::ClassTable;

use crate::Result;
use crate::mesh::write_new;

/// The display colour (RGB, 0-255) of class `id` named `name` (TotalSegmentator's ids and names).
pub fn colour_of(id: u16, name: &str) -> [u8; 3] {
    let side = if name.ends_with("_right") { 20 } else { 0 };
    let tone = |c: [u8; 3]| [c[0].saturating_sub(side), c[1].saturating_sub(side), c[2].saturating_sub(side)];
    match name.trim_end_matches("_left").trim_end_matches("_right") {
        "sacrum" => [241, 214, 145],
        "femur" => tone([236, 226, 196]),
        "hip" => tone([227, 218, 180]),
        "gluteus_maximus" => tone([192, 104, 88]),
        "gluteus_medius" => tone([214, 136, 82]),
        "gluteus_minimus" => tone([230, 170, 92]),
        "iliopsoas" => tone([177, 122, 101]),
        _ => {
            // Golden-angle hues, full saturation, 85 % value.
            let h = (f64::from(id) * 137.508) % 360.0;
            hsv_rgb(h, 0.65, 0.85)
        }
    }
}

/// RGB (0-255) of hue `h_deg` (0..360), saturation `s` and value `v` (0..1). The viewer's
/// label colours use it too.
pub fn hsv_rgb(h_deg: f64, s: f64, v: f64) -> [u8; 3] {
    let c = v * s;
    let x = c * (1.0 - ((h_deg / 60.0) % 2.0 - 1.0).abs());
    let (r, g, b) = match (h_deg / 60.0) as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = v - c;
    [r, g, b].map(|u| ((u + m) * 255.0).round() as u8)
}

/// Writes the 3D Slicer colour table of `classes` (background 0 first, transparent). Never over
/// an existing file.
///
/// # Errors
/// [`crate::Error::WouldOverwrite`], [`crate::Error::Write`].
pub fn write_colour_table(classes: &ClassTable, path: &Path) -> Result<()> {
    write_new(path, |out| {
        writeln!(out, "# Color table file {}", path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default())?;
        writeln!(out, "# {} values", classes.iter().filter(|(id, _)| *id != 0).count() + 1)?;
        writeln!(out, "0 background 0 0 0 0")?;
        for (id, name) in classes.iter().filter(|(id, _)| *id != 0) {
            let [r, g, b] = colour_of(id, name);
            writeln!(out, "{id} {} {r} {g} {b} 255", name.replace(char::is_whitespace, "_"))?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_class_background_first() {
        let mut c = ClassTable::new();
        c.insert(77, "hip_left");
        c.insert(78, "hip_right");
        c.insert(999, "other thing");
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("labels.ctbl");
        write_colour_table(&c, &p).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            lines,
            ["0 background 0 0 0 0", "77 hip_left 227 218 180 255", "78 hip_right 207 198 160 255", &format!("999 other_thing {} 255", colour_of(999, "x").map(|v| v.to_string()).join(" "))]
        );
        assert!(write_colour_table(&c, &p).is_err(), "never overwrites");
    }
}
