//! Server-rendered SVG plots: bars or lines over a row of labelled slots (days, hours), with a
//! y axis of round ticks, a legend, an optional limit line, and a `<title>` on every point so
//! values show on hover. No script, no CSS needed: colours are presentation attributes.

use std::fmt::Write;

use super::html::{compact, escape};

/// Canvas width in SVG units (the page scales it to the screen).
const WIDTH: f64 = 640.0;
/// Canvas height.
const HEIGHT: f64 = 260.0;
/// Room for the y labels.
const LEFT: f64 = 56.0;
/// Right margin.
const RIGHT: f64 = 14.0;
/// Room for the legend.
const TOP: f64 = 34.0;
/// Room for the x labels.
const BOTTOM: f64 = 38.0;
/// Most x labels drawn (the rest are skipped evenly).
const MAX_X_LABELS: usize = 8;
/// Series colours, reused in order.
const PALETTE: [&str; 8] = [
    "#2563eb", "#d97706", "#059669", "#9333ea", "#0891b2", "#db2777", "#65a30d", "#57534e",
];
/// Colour of the limit line.
const LIMIT_COLOUR: &str = "#dc2626";

/// How values are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// One bar per series per slot.
    Bars,
    /// A line per series with a dot per value; gaps where a slot has no value.
    Lines,
}

/// One named row of values, one per slot (None: no value in that slot).
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Legend name.
    pub name: String,
    /// Values by slot.
    pub values: Vec<Option<f64>>,
}

/// A horizontal reference line (such as a budget).
#[derive(Clone, Debug, PartialEq)]
pub struct Limit {
    /// Where.
    pub value: f64,
    /// Its label.
    pub label: String,
}

/// Everything a plot shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Plot {
    /// Accessible title (also the SVG `<title>`).
    pub title: String,
    /// Unit appended to values in tooltips, e.g. `tokens`.
    pub unit: String,
    /// Slot labels along the x axis.
    pub slots: Vec<String>,
    /// The data.
    pub series: Vec<Series>,
    /// Bars or lines.
    pub style: Style,
    /// Optional reference line.
    pub limit: Option<Limit>,
}

/// Round y-axis ticks covering `0..=max`: returns (top, step).
pub fn ticks(max: f64) -> (f64, f64) {
    if !max.is_finite() || max <= 0.0 {
        return (4.0, 1.0);
    }
    let raw = max / 4.0;
    let magnitude = 10_f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    let top = ((max / step).ceil() * step).max(step);
    (top, step)
}

/// The plot as an `<svg>` element.
pub fn render(plot: &Plot) -> String {
    let frame = Frame::new(plot);
    let mut out = String::with_capacity(4096);
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="plot" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{t}"><title>{t}</title>"#,
        t = escape(&plot.title)
    );
    frame.axes(&mut out);
    frame.x_labels(&mut out, &plot.slots);
    if frame.empty {
        let _ = write!(
            out,
            r##"<text class="empty" x="{:.1}" y="{:.1}" text-anchor="middle" fill="#6b7280">no data yet</text>"##,
            LEFT + frame.plot_w / 2.0,
            TOP + frame.plot_h / 2.0
        );
    }
    for (index, series) in plot.series.iter().enumerate() {
        match plot.style {
            Style::Bars => frame.bars(&mut out, plot, index, series),
            Style::Lines => frame.line(&mut out, plot, index, series),
        }
    }
    if let Some(limit) = &plot.limit {
        frame.limit(&mut out, limit);
    }
    legend(&mut out, plot);
    out.push_str("</svg>");
    out
}

/// Scale and geometry of one plot.
struct Frame {
    slots: usize,
    series: usize,
    top: f64,
    step: f64,
    plot_w: f64,
    plot_h: f64,
    empty: bool,
}

impl Frame {
    fn new(plot: &Plot) -> Self {
        let values = plot.series.iter().flat_map(|s| s.values.iter().flatten());
        let data_max = values
            .clone()
            .copied()
            .filter(|v| v.is_finite())
            .fold(0.0_f64, f64::max);
        let limit = plot.limit.as_ref().map_or(0.0, |l| l.value);
        let (top, step) = ticks(data_max.max(limit));
        Self {
            slots: plot.slots.len().max(1),
            series: plot.series.len().max(1),
            top,
            step,
            plot_w: WIDTH - LEFT - RIGHT,
            plot_h: HEIGHT - TOP - BOTTOM,
            empty: values.count() == 0,
        }
    }

    fn slot_w(&self) -> f64 {
        self.plot_w / self.slots as f64
    }

    /// Centre x of slot `i`.
    fn x(&self, i: usize) -> f64 {
        LEFT + (i as f64 + 0.5) * self.slot_w()
    }

    /// y of a value, clamped to the plot.
    fn y(&self, v: f64) -> f64 {
        let v = if v.is_finite() {
            v.clamp(0.0, self.top)
        } else {
            0.0
        };
        TOP + self.plot_h * (1.0 - v / self.top)
    }

    fn axes(&self, out: &mut String) {
        let bottom = TOP + self.plot_h;
        let mut tick = 0.0;
        while tick <= self.top * (1.0 + 1e-9) {
            let y = self.y(tick);
            let _ = write!(
                out,
                r##"<line class="grid" x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e5e7eb"/><text class="y-label" x="{:.1}" y="{:.1}" text-anchor="end" font-size="11" fill="#374151">{}</text>"##,
                LEFT + self.plot_w,
                LEFT - 6.0,
                y + 4.0,
                compact(tick)
            );
            tick += self.step;
        }
        let _ = write!(
            out,
            r##"<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom:.1}" stroke="#374151"/><line class="axis" x1="{LEFT}" y1="{bottom:.1}" x2="{:.1}" y2="{bottom:.1}" stroke="#374151"/>"##,
            LEFT + self.plot_w
        );
    }

    fn x_labels(&self, out: &mut String, slots: &[String]) {
        let every = slots.len().div_ceil(MAX_X_LABELS).max(1);
        let y = TOP + self.plot_h + 16.0;
        for (i, label) in slots.iter().enumerate() {
            // Always label the last slot (now / today); others evenly.
            if (slots.len() - 1 - i).is_multiple_of(every) {
                let _ = write!(
                    out,
                    r##"<text class="x-label" x="{:.1}" y="{y:.1}" text-anchor="middle" font-size="11" fill="#374151">{}</text>"##,
                    self.x(i),
                    escape(label)
                );
            }
        }
    }

    fn bars(&self, out: &mut String, plot: &Plot, index: usize, series: &Series) {
        let group = self.slot_w() * 0.8;
        let width = group / self.series as f64;
        let colour = PALETTE[index % PALETTE.len()];
        for (i, value) in series.values.iter().enumerate().take(self.slots) {
            let Some(v) = value.filter(|v| v.is_finite()) else {
                continue;
            };
            let x = self.x(i) - group / 2.0 + width * index as f64;
            let y = self.y(v);
            let _ = write!(
                out,
                r#"<rect class="bar" x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{colour}"><title>{}</title></rect>"#,
                (width - 0.5).max(0.5),
                (TOP + self.plot_h - y).max(0.0),
                tooltip(plot, series, i, v)
            );
        }
    }

    fn line(&self, out: &mut String, plot: &Plot, index: usize, series: &Series) {
        let colour = PALETTE[index % PALETTE.len()];
        let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
        for (i, value) in series.values.iter().enumerate().take(self.slots) {
            match value.filter(|v| v.is_finite()) {
                Some(v) => runs
                    .last_mut()
                    .map_or((), |run| run.push((self.x(i), self.y(v)))),
                None => runs.push(Vec::new()),
            }
        }
        for run in runs.iter().filter(|r| r.len() > 1) {
            let points: Vec<String> = run.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
            let _ = write!(
                out,
                r#"<polyline class="line" points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
                points.join(" ")
            );
        }
        for (i, value) in series.values.iter().enumerate().take(self.slots) {
            if let Some(v) = value.filter(|v| v.is_finite()) {
                let _ = write!(
                    out,
                    r#"<circle class="point" cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"><title>{}</title></circle>"#,
                    self.x(i),
                    self.y(v),
                    tooltip(plot, series, i, v)
                );
            }
        }
    }

    fn limit(&self, out: &mut String, limit: &Limit) {
        let y = self.y(limit.value);
        let _ = write!(
            out,
            r#"<line class="limit" x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{LIMIT_COLOUR}" stroke-dasharray="6 4" stroke-width="1.5"><title>{label}</title></line><text class="limit-label" x="{:.1}" y="{:.1}" font-size="11" fill="{LIMIT_COLOUR}">{label}</text>"#,
            LEFT + self.plot_w,
            LEFT + 6.0,
            y - 4.0,
            label = escape(&limit.label)
        );
    }
}

/// `guild · 2026-03-01: 1.2k tokens`.
fn tooltip(plot: &Plot, series: &Series, slot: usize, value: f64) -> String {
    let when = plot.slots.get(slot).map_or("", String::as_str);
    escape(&format!(
        "{} · {when}: {} {}",
        series.name,
        compact(value),
        plot.unit
    ))
}

/// Longest series name shown in the legend (tooltips have the whole name).
const LEGEND_CHARS: usize = 24;
/// Approximate width of a legend character at font size 11.
const CHAR_W: f64 = 6.5;

/// A colour swatch and name per series along the top; what does not fit is counted as
/// "+N more".
fn legend(out: &mut String, plot: &Plot) {
    let mut x = LEFT;
    for (index, series) in plot.series.iter().enumerate() {
        let mut name: String = series.name.chars().take(LEGEND_CHARS).collect();
        if series.name.chars().count() > LEGEND_CHARS {
            name.push('…');
        }
        let width = 24.0 + CHAR_W * name.chars().count() as f64;
        let left = plot.series.len() - index;
        if index > 0 && x + width > WIDTH - RIGHT - 60.0 {
            let _ = write!(
                out,
                r##"<text class="legend-more" x="{x:.1}" y="19" font-size="11" fill="#6b7280">+{left} more</text>"##
            );
            return;
        }
        let colour = PALETTE[index % PALETTE.len()];
        let _ = write!(
            out,
            r##"<rect class="swatch" x="{x:.1}" y="10" width="10" height="10" fill="{colour}"/><text class="legend" x="{:.1}" y="19" font-size="11" fill="#111827">{}</text>"##,
            x + 14.0,
            escape(&name)
        );
        x += width;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plot(style: Style, series: Vec<Series>, slots: usize) -> Plot {
        Plot {
            title: "Tokens per day".into(),
            unit: "tokens".into(),
            slots: (0..slots).map(|i| format!("d{i}")).collect(),
            series,
            style,
            limit: None,
        }
    }

    fn series(name: &str, values: &[Option<f64>]) -> Series {
        Series {
            name: name.into(),
            values: values.to_vec(),
        }
    }

    fn count(svg: &str, needle: &str) -> usize {
        svg.matches(needle).count()
    }

    #[test]
    fn ticks_are_round_and_cover_the_maximum() {
        assert_eq!(ticks(0.0), (4.0, 1.0));
        assert_eq!(ticks(f64::NAN), (4.0, 1.0));
        assert_eq!(ticks(10.0), (10.0, 2.5));
        assert_eq!(ticks(97.0), (100.0, 25.0));
        assert_eq!(ticks(1.0), (1.0, 0.25));
        let (top, step) = ticks(u64::MAX as f64);
        assert!(top >= u64::MAX as f64 && step > 0.0 && top / step <= 5.0);
    }

    #[test]
    fn empty_plots_still_have_axes_labels_and_say_so() {
        let svg = render(&plot(Style::Lines, Vec::new(), 30));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("<title>Tokens per day</title>"));
        assert_eq!(count(&svg, r#"class="axis""#), 2);
        assert!(svg.contains("no data yet"));
        assert_eq!(count(&svg, r#"class="y-label""#), 5);
        assert_eq!(
            count(&svg, r#"class="x-label""#),
            8,
            "30 slots, at most 8 labels"
        );
        assert!(svg.contains(">d29<"), "the last slot is labelled");
        assert!(!svg.contains("<circle"));
        // No slots at all is not a panic either.
        assert!(render(&plot(Style::Bars, Vec::new(), 0)).contains("no data yet"));
    }

    #[test]
    fn one_point_is_drawn_as_a_dot_with_its_value() {
        let svg = render(&plot(
            Style::Lines,
            vec![series("g", &[None, Some(5.0), None])],
            3,
        ));
        assert_eq!(count(&svg, "<circle"), 1);
        assert_eq!(count(&svg, "<polyline"), 0, "a single point needs no line");
        assert!(svg.contains("<title>g · d1: 5 tokens</title>"));
        assert!(!svg.contains("no data yet"));
    }

    #[test]
    fn lines_break_at_gaps_and_bars_skip_missing_slots() {
        let values = [Some(1.0), Some(2.0), None, Some(3.0), Some(4.0)];
        let lines = render(&plot(Style::Lines, vec![series("a", &values)], 5));
        assert_eq!(count(&lines, "<polyline"), 2);
        assert_eq!(count(&lines, "<circle"), 4);
        let bars = render(&plot(
            Style::Bars,
            vec![series("a", &values), series("b", &[Some(1.0)])],
            5,
        ));
        assert_eq!(count(&bars, r#"class="bar""#), 5);
        assert_eq!(count(&bars, r#"class="swatch""#), 2);
    }

    #[test]
    fn huge_values_and_the_limit_stay_inside_the_canvas() {
        let huge = u64::MAX as f64;
        let mut p = plot(
            Style::Bars,
            vec![series("big", &[Some(huge), Some(1.0)])],
            2,
        );
        p.limit = Some(Limit {
            value: 1e6,
            label: "budget 1M".into(),
        });
        let svg = render(&p);
        assert!(svg.contains("18.4E tokens"), "{svg}");
        assert!(svg.contains(r#"class="limit""#) && svg.contains(">budget 1M<"));
        for attr in svg.split(" y=\"").skip(1) {
            let y: f64 = attr
                .split('"')
                .next()
                .expect("value")
                .parse()
                .expect("number");
            assert!((0.0..=HEIGHT).contains(&y), "y {y} outside the canvas");
        }
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
        // A limit above every value sets the scale.
        let mut p = plot(Style::Lines, vec![series("s", &[Some(10.0)])], 1);
        p.limit = Some(Limit {
            value: 100.0,
            label: "cap".into(),
        });
        assert!(render(&p).contains(">100<"));
    }

    #[test]
    fn long_legends_are_shortened_and_counted() {
        let many: Vec<Series> = (0..8)
            .map(|i| {
                series(
                    &format!("a server with a very long name number {i}"),
                    &[Some(1.0)],
                )
            })
            .collect();
        let svg = render(&plot(Style::Lines, many, 1));
        let shown = count(&svg, r#"class="swatch""#);
        assert!((1..8).contains(&shown), "{shown}");
        assert!(svg.contains(&format!("+{} more", 8 - shown)), "{svg}");
        assert!(svg.contains("a server with a very lon…"));
        for x in svg.split(r#"class="legend" x=""#).skip(1) {
            let x: f64 = x.split('"').next().expect("x").parse().expect("number");
            assert!(x < WIDTH, "legend at {x}");
        }
    }

    #[test]
    fn names_and_labels_are_escaped() {
        let mut p = plot(
            Style::Bars,
            vec![series("<b>\"x\" & 'y'</b>", &[Some(1.0)])],
            1,
        );
        p.title = "<script>alert(1)</script>".into();
        p.slots = vec!["<i>".into()];
        let svg = render(&p);
        assert!(!svg.contains("<script>") && !svg.contains("<b>") && !svg.contains("<i>"));
        assert!(svg.contains("&lt;b&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/b&gt;"));
        assert!(svg.contains("&lt;script&gt;"));
    }
}
