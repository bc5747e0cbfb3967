//! Inline SVG plots for the report: horizontal bars, lines and a heat map. Plain strings, no
//! scripts, so the HTML stays self-contained and renders in any browser.

use std::fmt::Write;

/// Escapes text for XML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A bar of [`bars`].
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// Label left of the bar.
    pub label: String,
    /// Length, in the axis unit.
    pub value: f64,
    /// A target drawn as a tick (e.g. what a daily activity needs).
    pub target: Option<f64>,
    /// Fill colour (CSS).
    pub colour: String,
    /// Text right of the bar.
    pub note: String,
}

/// Horizontal bars on a shared axis from 0 to `max` (`unit` after the axis numbers).
pub fn bars(title: &str, rows: &[Bar], max: f64, unit: &str) -> String {
    let (left, width, row_h, top) = (210.0, 380.0, 22.0, 34.0);
    let h = top + row_h * rows.len() as f64 + 30.0;
    let x = |v: f64| left + width * (v / max).clamp(0.0, 1.0);
    let mut s = format!(r#"<svg xmlns="http://www.w3.org/2000/svg" class="plot" viewBox="0 0 760 {h}" width="760" height="{h}" font-family="sans-serif" font-size="12">"#);
    let _ = write!(s, r#"<text x="10" y="18" font-size="14" font-weight="bold">{}</text>"#, esc(title));
    let step = if max > 100.0 { 30.0 } else { 10.0 };
    let mut t = 0.0;
    while t <= max + 1e-9 {
        let _ = write!(
            s,
            r##"<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="#ddd"/><text x="{0}" y="{3}" text-anchor="middle" fill="#555">{t}{4}</text>"##,
            x(t),
            top - 4.0,
            h - 26.0,
            h - 12.0,
            esc(unit)
        );
        t += step;
    }
    for (i, r) in rows.iter().enumerate() {
        let y = top + row_h * i as f64;
        let _ = write!(s, r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#, left - 6.0, y + 15.0, esc(&r.label));
        let _ = write!(s, r#"<rect class="bar" x="{left}" y="{}" width="{:.1}" height="{}" fill="{}"/>"#, y + 3.0, x(r.value) - left, row_h - 6.0, esc(&r.colour));
        if let Some(tg) = r.target {
            let _ = write!(s, r##"<line x1="{0:.1}" y1="{1}" x2="{0:.1}" y2="{2}" stroke="#111" stroke-width="2"/>"##, x(tg), y + 1.0, y + row_h - 1.0);
        }
        let _ = write!(s, r##"<text x="{}" y="{}" fill="#333">{}</text>"##, left + width + 8.0, y + 15.0, esc(&r.note));
    }
    s.push_str("</svg>");
    s
}

/// A line of [`lines`].
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend name.
    pub name: String,
    /// Colour (CSS).
    pub colour: String,
    /// Points (x, y); None breaks the line.
    pub points: Vec<(f64, Option<f64>)>,
}

/// A line plot; `mark_x` draws a dashed vertical line (e.g. the planned angle).
pub fn lines(title: &str, x_label: &str, y_label: &str, series: &[Series], mark_x: Option<f64>) -> String {
    let (l, r, t, b) = (60.0, 560.0, 30.0, 260.0);
    let xs: Vec<f64> = series.iter().flat_map(|s| s.points.iter().map(|p| p.0)).collect();
    let ys: Vec<f64> = series.iter().flat_map(|s| s.points.iter().filter_map(|p| p.1)).collect();
    let (x0, x1) = (xs.iter().copied().fold(f64::INFINITY, f64::min), xs.iter().copied().fold(f64::NEG_INFINITY, f64::max));
    let (y0, y1) = (ys.iter().copied().fold(f64::INFINITY, f64::min).min(0.0), ys.iter().copied().fold(f64::NEG_INFINITY, f64::max));
    let (x0, x1) = if x1 > x0 { (x0, x1) } else { (x0 - 1.0, x0 + 1.0) };
    let y1 = if y1 > y0 { y1 * 1.05 } else { y0 + 1.0 };
    let px = |x: f64| l + (r - l) * (x - x0) / (x1 - x0);
    let py = |y: f64| b - (b - t) * (y - y0) / (y1 - y0);
    let mut s = String::from(r#"<svg xmlns="http://www.w3.org/2000/svg" class="plot" viewBox="0 0 760 300" width="760" height="300" font-family="sans-serif" font-size="12">"#);
    let _ = write!(s, r#"<text x="10" y="18" font-size="14" font-weight="bold">{}</text>"#, esc(title));
    let _ = write!(s, r##"<rect x="{l}" y="{t}" width="{}" height="{}" fill="none" stroke="#999"/>"##, r - l, b - t);
    for k in 0..=4 {
        let yv = y0 + (y1 - y0) * f64::from(k) / 4.0;
        let _ = write!(s, r##"<line x1="{l}" x2="{r}" y1="{0:.1}" y2="{0:.1}" stroke="#eee"/><text x="{1}" y="{2:.1}" text-anchor="end" fill="#555">{yv:.0}</text>"##, py(yv), l - 4.0, py(yv) + 4.0);
        let xv = x0 + (x1 - x0) * f64::from(k) / 4.0;
        let _ = write!(s, r##"<text x="{:.1}" y="{}" text-anchor="middle" fill="#555">{xv:.0}</text>"##, px(xv), b + 15.0);
    }
    let _ = write!(s, r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#, (l + r) / 2.0, b + 32.0, esc(x_label));
    let _ = write!(s, r#"<text x="14" y="{}" transform="rotate(-90 14 {})" text-anchor="middle">{}</text>"#, (t + b) / 2.0, (t + b) / 2.0, esc(y_label));
    if let Some(m) = mark_x {
        let _ = write!(s, r##"<line x1="{0:.1}" x2="{0:.1}" y1="{t}" y2="{b}" stroke="#000" stroke-dasharray="4 3"/>"##, px(m));
    }
    for (i, se) in series.iter().enumerate() {
        let mut d = String::new();
        let mut pen = false;
        for (x, y) in &se.points {
            match y {
                Some(y) => {
                    let _ = write!(d, "{}{:.1},{:.1} ", if pen { "L" } else { "M" }, px(*x), py(*y));
                    pen = true;
                }
                None => pen = false,
            }
        }
        let _ = write!(s, r#"<path class="line" d="{}" fill="none" stroke="{}" stroke-width="2"/>"#, d.trim(), esc(&se.colour));
        let ly = t + 14.0 * i as f64 + 4.0;
        let _ = write!(
            s,
            r#"<line x1="{}" x2="{}" y1="{ly}" y2="{ly}" stroke="{}" stroke-width="3"/><text x="{}" y="{}">{}</text>"#,
            r + 12.0,
            r + 32.0,
            esc(&se.colour),
            r + 36.0,
            ly + 4.0,
            esc(&se.name)
        );
    }
    s.push_str("</svg>");
    s
}

/// A heat map of `values[iy][ix]` (None: not computed) over the grid `xs` x `ys`, coloured
/// red (<= `lo`) through yellow to green (>= `hi`); `rect` outlines a zone `[x0, x1, y0, y1]`,
/// `mark` a point.
#[allow(clippy::too_many_arguments, reason = "one plot's plain inputs")]
pub fn heatmap(title: &str, x_label: &str, y_label: &str, xs: &[f64], ys: &[f64], values: &[Vec<Option<f64>>], lo: f64, hi: f64, rect: Option<[f64; 4]>, mark: Option<(f64, f64)>) -> String {
    let (l, t, cw, ch) = (70.0, 30.0, 40.0, 26.0);
    let (nx, ny) = (xs.len(), ys.len());
    let w = l + cw * nx as f64 + 190.0;
    let hgt = t + ch * ny as f64 + 50.0;
    let mut s = format!(r#"<svg xmlns="http://www.w3.org/2000/svg" class="plot" viewBox="0 0 {w} {hgt}" width="{w}" height="{hgt}" font-family="sans-serif" font-size="11">"#);
    let _ = write!(s, r#"<text x="10" y="18" font-size="14" font-weight="bold">{}</text>"#, esc(title));
    let colour = |v: f64| {
        let u = ((v - lo) / (hi - lo)).clamp(0.0, 1.0);
        let (r, g) = if u < 0.5 { (220.0, 60.0 + 340.0 * u) } else { (220.0 - 340.0 * (u - 0.5), 230.0) };
        format!("rgb({:.0},{:.0},70)", r, g.min(230.0))
    };
    // Row 0 of `values` is ys[0], drawn at the bottom.
    let cx = |ix: f64| l + cw * ix;
    let cy = |iy: f64| t + ch * (ny as f64 - iy);
    for (iy, row) in values.iter().enumerate() {
        for (ix, v) in row.iter().enumerate() {
            let fill = v.map_or_else(|| "#ccc".to_string(), colour);
            let label = v.map_or_else(String::new, |v| format!("{v:.0}"));
            let _ = write!(
                s,
                r##"<rect class="cell" x="{:.1}" y="{:.1}" width="{cw}" height="{ch}" fill="{fill}" stroke="#fff"/><text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#111">{label}</text>"##,
                cx(ix as f64),
                cy(iy as f64 + 1.0),
                cx(ix as f64 + 0.5),
                cy(iy as f64 + 0.5) + 4.0
            );
        }
    }
    for (ix, x) in xs.iter().enumerate() {
        let _ = write!(s, r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#555">{x}</text>"##, cx(ix as f64 + 0.5), cy(0.0) + 14.0);
    }
    for (iy, y) in ys.iter().enumerate() {
        let _ = write!(s, r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#555">{y}</text>"##, l - 4.0, cy(iy as f64 + 0.5) + 4.0);
    }
    let _ = write!(s, r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#, cx(nx as f64 / 2.0), cy(0.0) + 32.0, esc(x_label));
    let _ = write!(s, r#"<text x="14" y="{0:.1}" transform="rotate(-90 14 {0:.1})" text-anchor="middle">{1}</text>"#, cy(ny as f64 / 2.0), esc(y_label));
    // Grid coordinates of a value (cells are centred on the grid values).
    let gx = |x: f64| -> f64 { grid_pos(xs, x) };
    let gy = |y: f64| -> f64 { grid_pos(ys, y) };
    if let Some([x0, x1, y0, y1]) = rect {
        let (a, b2) = (cx(gx(x0) + 0.5), cx(gx(x1) + 0.5));
        let (c, d) = (cy(gy(y1) + 0.5), cy(gy(y0) + 0.5));
        let _ = write!(s, r##"<rect x="{a:.1}" y="{c:.1}" width="{:.1}" height="{:.1}" fill="none" stroke="#1546b0" stroke-width="2.5" stroke-dasharray="6 3"/>"##, b2 - a, d - c);
    }
    if let Some((mx, my)) = mark {
        let _ = write!(s, r##"<circle cx="{:.1}" cy="{:.1}" r="7" fill="none" stroke="#000" stroke-width="3"/>"##, cx(gx(mx) + 0.5), cy(gy(my) + 0.5));
    }
    let lx = cx(nx as f64) + 14.0;
    let _ = write!(s, r##"<rect x="{lx}" y="{t}" width="14" height="14" fill="{}"/><text x="{}" y="{}">&lt;= {lo}</text>"##, colour(lo), lx + 18.0, t + 11.0);
    let _ = write!(s, r##"<rect x="{lx}" y="{}" width="14" height="14" fill="{}"/><text x="{}" y="{}">&gt;= {hi}</text>"##, t + 20.0, colour(hi), lx + 18.0, t + 31.0);
    let _ = write!(
        s,
        r##"<line x1="{lx}" x2="{}" y1="{}" y2="{}" stroke="#1546b0" stroke-width="2.5" stroke-dasharray="6 3"/><text x="{}" y="{}">safe zone</text>"##,
        lx + 14.0,
        t + 47.0,
        t + 47.0,
        lx + 18.0,
        t + 51.0
    );
    let _ = write!(s, r##"<circle cx="{}" cy="{}" r="6" fill="none" stroke="#000" stroke-width="3"/><text x="{}" y="{}">plan</text>"##, lx + 7.0, t + 67.0, lx + 18.0, t + 71.0);
    s.push_str("</svg>");
    s
}

/// Fractional index of `v` in the increasing grid `g` (linear between and beyond nodes).
fn grid_pos(g: &[f64], v: f64) -> f64 {
    if g.len() < 2 {
        return 0.0;
    }
    let step = (g[g.len() - 1] - g[0]) / (g.len() - 1) as f64;
    (v - g[0]) / step
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plots_are_well_formed_and_escape_text() {
        let b = bars("ROM <deg>", &[Bar { label: "flexion".into(), value: 120.0, target: Some(110.0), colour: "#4a4".into(), note: "bone-bone".into() }], 150.0, "°");
        assert!(b.starts_with("<svg") && b.ends_with("</svg>") && b.contains("ROM &lt;deg&gt;") && b.contains("class=\"bar\""));
        let l = lines("t", "x", "y", &[Series { name: "a".into(), colour: "red".into(), points: vec![(0.0, Some(1.0)), (1.0, None), (2.0, Some(3.0))] }], Some(1.0));
        assert_eq!(l.matches('M').count(), 2, "a missing point breaks the line: {l}");
        assert!(l.contains("stroke-dasharray"), "the mark");
        let h = heatmap("m", "av", "inc", &[0.0, 10.0], &[30.0, 40.0], &[vec![Some(-5.0), Some(20.0)], vec![None, Some(40.0)]], 0.0, 30.0, Some([0.0, 10.0, 30.0, 40.0]), Some((10.0, 40.0)));
        assert_eq!(h.matches("class=\"cell\"").count(), 4);
        assert!(h.contains("#ccc"), "a missing value is grey");
    }
}
