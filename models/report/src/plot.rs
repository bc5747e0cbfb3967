//! The report's vector charts: horizontal bars against targets, lines, and a heat map. A
//! [`Plot`] is data; [`scene`] lays it out once as shapes in a `width` x `height` box (pixels in
//! HTML, scaled to the page in the PDF), and each renderer draws the same shapes: SVG elements
//! in HTML, paths and text in the PDF.

/// A colour, 8 bits per channel (plots, cell fills, text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// `#rrggbb`.
    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

/// A bar of [`Plot::Bars`].
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// Label left of the bar.
    pub label: String,
    /// Length, in the axis unit.
    pub value: f64,
    /// A target drawn as a tick (what a daily activity needs).
    pub target: Option<f64>,
    /// Fill colour.
    pub colour: Rgb,
    /// Text right of the bar.
    pub note: String,
}

/// A line of [`Plot::Lines`].
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend name.
    pub name: String,
    /// Colour.
    pub colour: Rgb,
    /// Points (x, y); `None` breaks the line.
    pub points: Vec<(f64, Option<f64>)>,
}

/// A vector chart.
#[derive(Debug, Clone, PartialEq)]
pub enum Plot {
    /// Horizontal bars on a shared axis from 0 to `max`.
    Bars {
        /// The title.
        title: String,
        /// The bars, top to bottom.
        bars: Vec<Bar>,
        /// The axis' end.
        max: f64,
        /// Written after the axis numbers (e.g. `°`).
        unit: String,
    },
    /// Lines over a shared x axis; `mark_x` draws a dashed vertical line (the planned angle).
    Lines {
        /// The title.
        title: String,
        /// The x axis' label.
        x_label: String,
        /// The y axis' label.
        y_label: String,
        /// The lines.
        series: Vec<Series>,
        /// A dashed vertical line.
        mark_x: Option<f64>,
    },
    /// A heat map of `values[iy][ix]` (`None`: not computed) over the grid `xs` x `ys`, red
    /// (<= `lo`) through yellow to green (>= `hi`); `zone` outlines `[x0, x1, y0, y1]` (dashed),
    /// `mark` circles a point.
    Heatmap {
        /// The title.
        title: String,
        /// The x axis' label.
        x_label: String,
        /// The y axis' label.
        y_label: String,
        /// The grid's x values (increasing).
        xs: Vec<f64>,
        /// The grid's y values (increasing; `ys[0]` at the bottom).
        ys: Vec<f64>,
        /// The cells, `values[iy][ix]`.
        values: Vec<Vec<Option<f64>>>,
        /// Red at and below.
        lo: f64,
        /// Green at and above.
        hi: f64,
        /// The legend's name of the zone.
        zone_name: String,
        /// A zone outlined, `[x0, x1, y0, y1]`.
        zone: Option<[f64; 4]>,
        /// A point circled (the plan).
        mark: Option<(f64, f64)>,
    },
}

/// How text sits on its anchor point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// The point is the text's start.
    Start,
    /// Its middle.
    Middle,
    /// Its end.
    End,
}

impl Anchor {
    /// SVG's `text-anchor`.
    pub fn svg(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Middle => "middle",
            Self::End => "end",
        }
    }
}

/// A line's paint.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pen {
    /// Colour.
    pub colour: Rgb,
    /// Width, px.
    pub width: f64,
    /// Dash and gap lengths, px (`None`: solid).
    pub dash: Option<(f64, f64)>,
}

impl Pen {
    /// A solid pen.
    pub fn solid(colour: Rgb, width: f64) -> Self {
        Self { colour, width, dash: None }
    }

    /// A dashed pen.
    pub fn dashed(colour: Rgb, width: f64, dash: f64, gap: f64) -> Self {
        Self { colour, width, dash: Some((dash, gap)) }
    }
}

/// One shape of a laid-out plot, in px from the plot's top left (y down).
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// A rectangle, filled and/or outlined.
    Rect {
        /// Left.
        x: f64,
        /// Top.
        y: f64,
        /// Width.
        w: f64,
        /// Height.
        h: f64,
        /// Fill.
        fill: Option<Rgb>,
        /// Outline.
        stroke: Option<Pen>,
        /// What it shows (`bar`, `cell`): the SVG class.
        role: Option<&'static str>,
    },
    /// Connected straight segments (a line of a [`Plot::Lines`], an axis tick: two points).
    Line {
        /// The points.
        points: Vec<(f64, f64)>,
        /// The pen.
        pen: Pen,
        /// What it shows (`line`): the SVG class.
        role: Option<&'static str>,
    },
    /// An outlined circle.
    Circle {
        /// Centre x.
        cx: f64,
        /// Centre y.
        cy: f64,
        /// Radius.
        r: f64,
        /// The pen.
        pen: Pen,
    },
    /// Text; `(x, y)` is the baseline point `anchor` refers to; `vertical` turns it 90° counter
    /// clockwise about that point.
    Text {
        /// x.
        x: f64,
        /// Baseline y.
        y: f64,
        /// The text.
        text: String,
        /// Size, px.
        size: f64,
        /// Bold.
        bold: bool,
        /// Colour.
        colour: Rgb,
        /// Where the point is.
        anchor: Anchor,
        /// Turned to read bottom up.
        vertical: bool,
    },
}

/// A plot laid out.
#[derive(Debug, Clone, PartialEq)]
pub struct Scene {
    /// Width, px.
    pub width: f64,
    /// Height, px.
    pub height: f64,
    /// The shapes, drawn in order.
    pub shapes: Vec<Shape>,
}

impl Scene {
    /// Every text of the plot.
    pub fn texts(&self) -> Vec<String> {
        self.shapes
            .iter()
            .filter_map(|s| match s {
                Shape::Text { text, .. } => Some(text.clone()),
                _ => None,
            })
            .collect()
    }
}

const INK: Rgb = Rgb(0x22, 0x22, 0x22);
const GREY_TEXT: Rgb = Rgb(0x55, 0x55, 0x55);
const GRID: Rgb = Rgb(0xdd, 0xdd, 0xdd);

fn text(x: f64, y: f64, s: impl Into<String>, size: f64, anchor: Anchor, colour: Rgb) -> Shape {
    Shape::Text { x, y, text: s.into(), size, bold: false, colour, anchor, vertical: false }
}

fn title(s: &str) -> Shape {
    Shape::Text { x: 10.0, y: 18.0, text: s.to_string(), size: 14.0, bold: true, colour: INK, anchor: Anchor::Start, vertical: false }
}

fn seg(x1: f64, y1: f64, x2: f64, y2: f64, pen: Pen) -> Shape {
    Shape::Line { points: vec![(x1, y1), (x2, y2)], pen, role: None }
}

/// Lays a plot out.
pub fn scene(p: &Plot) -> Scene {
    match p {
        Plot::Bars { title: t, bars: rows, max, unit } => bars(t, rows, *max, unit),
        Plot::Lines { title: t, x_label, y_label, series, mark_x } => lines(t, x_label, y_label, series, *mark_x),
        Plot::Heatmap { .. } => heatmap(p),
    }
}

fn bars(t: &str, rows: &[Bar], max: f64, unit: &str) -> Scene {
    let (left, width, row_h, top) = (210.0, 380.0, 22.0, 34.0);
    let h = top + row_h * rows.len() as f64 + 30.0;
    let max = if max > 0.0 { max } else { 1.0 };
    let x = |v: f64| left + width * (v / max).clamp(0.0, 1.0);
    let mut s = vec![title(t)];
    let step = if max > 100.0 { 30.0 } else { 10.0 };
    let mut v = 0.0;
    while v <= max + 1e-9 {
        s.push(seg(x(v), top - 4.0, x(v), h - 26.0, Pen::solid(GRID, 1.0)));
        s.push(text(x(v), h - 12.0, format!("{v}{unit}"), 12.0, Anchor::Middle, GREY_TEXT));
        v += step;
    }
    for (i, r) in rows.iter().enumerate() {
        let y = top + row_h * i as f64;
        s.push(text(left - 6.0, y + 15.0, r.label.clone(), 12.0, Anchor::End, INK));
        s.push(Shape::Rect { x: left, y: y + 3.0, w: x(r.value) - left, h: row_h - 6.0, fill: Some(r.colour), stroke: None, role: Some("bar") });
        if let Some(tg) = r.target {
            s.push(seg(x(tg), y + 1.0, x(tg), y + row_h - 1.0, Pen::solid(Rgb(0x11, 0x11, 0x11), 2.0)));
        }
        s.push(text(left + width + 8.0, y + 15.0, r.note.clone(), 12.0, Anchor::Start, Rgb(0x33, 0x33, 0x33)));
    }
    Scene { width: 760.0, height: h, shapes: s }
}

fn lines(t: &str, x_label: &str, y_label: &str, series: &[Series], mark_x: Option<f64>) -> Scene {
    let (l, r, top, b) = (60.0, 560.0, 30.0, 260.0);
    let xs: Vec<f64> = series.iter().flat_map(|s| s.points.iter().map(|p| p.0)).collect();
    let ys: Vec<f64> = series.iter().flat_map(|s| s.points.iter().filter_map(|p| p.1)).collect();
    let (x0, x1) = (xs.iter().copied().fold(f64::INFINITY, f64::min), xs.iter().copied().fold(f64::NEG_INFINITY, f64::max));
    let (y0, y1) = (ys.iter().copied().fold(f64::INFINITY, f64::min).min(0.0), ys.iter().copied().fold(f64::NEG_INFINITY, f64::max));
    let (x0, x1) = if x1 > x0 {
        (x0, x1)
    } else if x0.is_finite() {
        (x0 - 1.0, x0 + 1.0)
    } else {
        (0.0, 1.0)
    };
    let y1 = if y1 > y0 { y1 * 1.05 } else { y0 + 1.0 };
    let px = |x: f64| l + (r - l) * (x - x0) / (x1 - x0);
    let py = |y: f64| b - (b - top) * (y - y0) / (y1 - y0);
    let mut s = vec![title(t)];
    s.push(Shape::Rect { x: l, y: top, w: r - l, h: b - top, fill: None, stroke: Some(Pen::solid(Rgb(0x99, 0x99, 0x99), 1.0)), role: None });
    for k in 0..=4 {
        let yv = y0 + (y1 - y0) * f64::from(k) / 4.0;
        s.push(seg(l, py(yv), r, py(yv), Pen::solid(Rgb(0xee, 0xee, 0xee), 1.0)));
        s.push(text(l - 4.0, py(yv) + 4.0, format!("{yv:.0}"), 12.0, Anchor::End, GREY_TEXT));
        let xv = x0 + (x1 - x0) * f64::from(k) / 4.0;
        s.push(text(px(xv), b + 15.0, format!("{xv:.0}"), 12.0, Anchor::Middle, GREY_TEXT));
    }
    s.push(text(f64::midpoint(l, r), b + 32.0, x_label, 12.0, Anchor::Middle, INK));
    s.push(Shape::Text { x: 14.0, y: f64::midpoint(top, b), text: y_label.to_string(), size: 12.0, bold: false, colour: INK, anchor: Anchor::Middle, vertical: true });
    if let Some(m) = mark_x {
        s.push(seg(px(m), top, px(m), b, Pen::dashed(Rgb(0, 0, 0), 1.0, 4.0, 3.0)));
    }
    for (i, se) in series.iter().enumerate() {
        let pen = Pen::solid(se.colour, 2.0);
        // A missing point breaks the line into pieces.
        let mut piece: Vec<(f64, f64)> = Vec::new();
        for (x, y) in &se.points {
            match y {
                Some(y) => piece.push((px(*x), py(*y))),
                None => {
                    if !piece.is_empty() {
                        s.push(Shape::Line { points: std::mem::take(&mut piece), pen, role: Some("line") });
                    }
                }
            }
        }
        if !piece.is_empty() {
            s.push(Shape::Line { points: piece, pen, role: Some("line") });
        }
        let ly = top + 14.0 * i as f64 + 4.0;
        s.push(seg(r + 12.0, ly, r + 32.0, ly, Pen::solid(se.colour, 3.0)));
        s.push(text(r + 36.0, ly + 4.0, se.name.clone(), 12.0, Anchor::Start, INK));
    }
    Scene { width: 760.0, height: 300.0, shapes: s }
}

/// The heat map's colour of a value: red (<= `lo`) through yellow to green (>= `hi`).
pub fn heat_colour(v: f64, lo: f64, hi: f64) -> Rgb {
    let u = if hi > lo { ((v - lo) / (hi - lo)).clamp(0.0, 1.0) } else { 0.5 };
    let (r, g) = if u < 0.5 { (220.0, 60.0 + 340.0 * u) } else { (220.0 - 340.0 * (u - 0.5), 230.0) };
    // In 0..=255 by construction: r in [50, 220], g in [60, 230].
    let byte = |v: f64| v.round().clamp(0.0, 255.0) as u8;
    Rgb(byte(r), byte(g.min(230.0)), 70)
}

/// Fractional index of `v` in the increasing, evenly spaced grid `g`.
fn grid_pos(g: &[f64], v: f64) -> f64 {
    if g.len() < 2 {
        return 0.0;
    }
    let step = (g[g.len() - 1] - g[0]) / (g.len() - 1) as f64;
    if step == 0.0 { 0.0 } else { (v - g[0]) / step }
}

fn heatmap(p: &Plot) -> Scene {
    let Plot::Heatmap { title: t, x_label, y_label, xs, ys, values, lo, hi, zone_name, zone, mark } = p else { unreachable!("heatmap() is called with a heat map") };
    let (lo, hi) = (*lo, *hi);
    let (l, top, cw, ch) = (70.0, 30.0, 40.0, 26.0);
    let (nx, ny) = (xs.len(), ys.len());
    let w = l + cw * nx as f64 + 190.0;
    let hgt = top + ch * ny as f64 + 50.0;
    let mut s = vec![title(t)];
    // Row 0 of `values` is ys[0], drawn at the bottom.
    let cx = |ix: f64| l + cw * ix;
    let cy = |iy: f64| top + ch * (ny as f64 - iy);
    let small = |x: f64, y: f64, v: String, a: Anchor, c: Rgb| text(x, y, v, 11.0, a, c);
    for (iy, row) in values.iter().enumerate() {
        for (ix, v) in row.iter().enumerate() {
            let fill = v.map_or(Rgb(0xcc, 0xcc, 0xcc), |v| heat_colour(v, lo, hi));
            s.push(Shape::Rect { x: cx(ix as f64), y: cy(iy as f64 + 1.0), w: cw, h: ch, fill: Some(fill), stroke: Some(Pen::solid(Rgb(0xff, 0xff, 0xff), 1.0)), role: Some("cell") });
            if let Some(v) = v {
                s.push(small(cx(ix as f64 + 0.5), cy(iy as f64 + 0.5) + 4.0, format!("{v:.0}"), Anchor::Middle, Rgb(0x11, 0x11, 0x11)));
            }
        }
    }
    for (ix, x) in xs.iter().enumerate() {
        s.push(small(cx(ix as f64 + 0.5), cy(0.0) + 14.0, format!("{x}"), Anchor::Middle, GREY_TEXT));
    }
    for (iy, y) in ys.iter().enumerate() {
        s.push(small(l - 4.0, cy(iy as f64 + 0.5) + 4.0, format!("{y}"), Anchor::End, GREY_TEXT));
    }
    s.push(small(cx(nx as f64 / 2.0), cy(0.0) + 32.0, x_label.clone(), Anchor::Middle, INK));
    s.push(Shape::Text { x: 14.0, y: cy(ny as f64 / 2.0), text: y_label.clone(), size: 11.0, bold: false, colour: INK, anchor: Anchor::Middle, vertical: true });
    let zone_pen = Pen::dashed(Rgb(0x15, 0x46, 0xb0), 2.5, 6.0, 3.0);
    if let Some([x0, x1, y0, y1]) = zone {
        let (a, b2) = (cx(grid_pos(xs, *x0) + 0.5), cx(grid_pos(xs, *x1) + 0.5));
        let (c, d) = (cy(grid_pos(ys, *y1) + 0.5), cy(grid_pos(ys, *y0) + 0.5));
        s.push(Shape::Rect { x: a, y: c, w: b2 - a, h: d - c, fill: None, stroke: Some(zone_pen), role: None });
    }
    let mark_pen = Pen::solid(Rgb(0, 0, 0), 3.0);
    if let Some((mx, my)) = mark {
        s.push(Shape::Circle { cx: cx(grid_pos(xs, *mx) + 0.5), cy: cy(grid_pos(ys, *my) + 0.5), r: 7.0, pen: mark_pen });
    }
    let lx = cx(nx as f64) + 14.0;
    s.push(Shape::Rect { x: lx, y: top, w: 14.0, h: 14.0, fill: Some(heat_colour(lo, lo, hi)), stroke: None, role: None });
    s.push(small(lx + 18.0, top + 11.0, format!("≤ {lo}"), Anchor::Start, INK));
    s.push(Shape::Rect { x: lx, y: top + 20.0, w: 14.0, h: 14.0, fill: Some(heat_colour(hi, lo, hi)), stroke: None, role: None });
    s.push(small(lx + 18.0, top + 31.0, format!("≥ {hi}"), Anchor::Start, INK));
    s.push(seg(lx, top + 47.0, lx + 14.0, top + 47.0, zone_pen));
    s.push(small(lx + 18.0, top + 51.0, zone_name.clone(), Anchor::Start, INK));
    s.push(Shape::Circle { cx: lx + 7.0, cy: top + 67.0, r: 6.0, pen: mark_pen });
    s.push(small(lx + 18.0, top + 71.0, "plan".into(), Anchor::Start, INK));
    Scene { width: w, height: hgt, shapes: s }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(s: &Scene, f: impl Fn(&Shape) -> bool) -> usize {
        s.shapes.iter().filter(|x| f(x)).count()
    }

    #[test]
    fn bars_put_each_value_and_target_on_the_shared_axis() {
        let b = scene(&Plot::Bars {
            title: "ROM".into(),
            bars: vec![Bar { label: "flexion".into(), value: 90.0, target: Some(45.0), colour: Rgb(1, 2, 3), note: "n".into() }],
            max: 180.0,
            unit: "°".into(),
        });
        let bar = b.shapes.iter().find_map(|s| if let Shape::Rect { x, w, role: Some("bar"), .. } = s { Some((*x, *w)) } else { None }).unwrap();
        // Half the axis (380 px from x = 210).
        assert_eq!(bar, (210.0, 190.0));
        // The target tick at a quarter of the axis, 2 px wide.
        assert!(b.shapes.iter().any(|s| matches!(s, Shape::Line { points, pen, .. } if points[0].0 == 305.0 && pen.width == 2.0)));
        assert!(b.texts().contains(&"180°".to_string()) && b.texts().contains(&"0°".to_string()));
    }

    #[test]
    fn a_missing_point_breaks_the_line_and_missing_cells_are_grey() {
        let l = scene(&Plot::Lines {
            title: "t".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            series: vec![Series { name: "a".into(), colour: Rgb(255, 0, 0), points: vec![(0.0, Some(1.0)), (1.0, None), (2.0, Some(3.0)), (3.0, Some(4.0))] }],
            mark_x: Some(1.0),
        });
        assert_eq!(count(&l, |s| matches!(s, Shape::Line { role: Some("line"), .. })), 2);
        assert_eq!(count(&l, |s| matches!(s, Shape::Line { pen: Pen { dash: Some(_), .. }, .. })), 1, "the mark");
        let h = scene(&Plot::Heatmap {
            title: "m".into(),
            x_label: "av".into(),
            y_label: "inc".into(),
            xs: vec![0.0, 10.0],
            ys: vec![30.0, 40.0],
            values: vec![vec![Some(-5.0), Some(20.0)], vec![None, Some(40.0)]],
            lo: 0.0,
            hi: 30.0,
            zone_name: "safe zone".into(),
            zone: Some([0.0, 10.0, 30.0, 40.0]),
            mark: Some((10.0, 40.0)),
        });
        assert_eq!(count(&h, |s| matches!(s, Shape::Rect { role: Some("cell"), .. })), 4);
        assert_eq!(count(&h, |s| matches!(s, Shape::Rect { fill: Some(Rgb(0xcc, 0xcc, 0xcc)), .. })), 1);
        // The colour scale's ends, as the report has always drawn them.
        assert_eq!(heat_colour(-10.0, 0.0, 30.0), Rgb(220, 60, 70));
        assert_eq!(heat_colour(30.0, 0.0, 30.0), Rgb(50, 230, 70));
    }
}
