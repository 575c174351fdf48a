//! Shared styling: the colour-blind-safe palette, marker shapes, fonts, the figure frame (title above,
//! seed and command below) and number formatting for ticks and tables.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::{Caption, Error};

/// The drawing area type every figure draws on.
pub(crate) type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// Okabe & Ito's colour-blind-safe palette, ordered so that the first colours differ most on white
/// (yellow, the weakest on white, comes last).
pub(crate) const PALETTE: [RGBColor; 8] = [
    RGBColor(0x00, 0x72, 0xB2), // blue
    RGBColor(0xE6, 0x9F, 0x00), // orange
    RGBColor(0x00, 0x9E, 0x73), // bluish green
    RGBColor(0xD5, 0x5E, 0x00), // vermillion
    RGBColor(0xCC, 0x79, 0xA7), // reddish purple
    RGBColor(0x56, 0xB4, 0xE9), // sky blue
    RGBColor(0x00, 0x00, 0x00), // black
    RGBColor(0xF0, 0xE4, 0x42), // yellow
];

/// Light grey for dominated points and grid lines.
pub(crate) const GREY: RGBColor = RGBColor(0xB0, 0xB0, 0xB0);
/// Caption text.
pub(crate) const DARK_GREY: RGBColor = RGBColor(0x44, 0x44, 0x44);

/// The colour of series `idx`.
pub(crate) fn color(idx: usize) -> RGBColor {
    PALETTE[idx % PALETTE.len()]
}

/// The font family written into the SVG; the PNG renderer maps it to the embedded DejaVu Sans.
pub(crate) const FONT: &str = "sans-serif";

/// Axis label, legend and tick font sizes, pixels.
pub(crate) const AXIS_FONT: u32 = 14;
pub(crate) const TICK_FONT: u32 = 12;
pub(crate) const TITLE_FONT: u32 = 18;
pub(crate) const CAPTION_FONT: u32 = 12;

/// Marker shapes, cycled with the colours so that series differ without colour too.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Marker {
    Circle,
    Triangle,
    Square,
    Cross,
}

pub(crate) fn marker(idx: usize) -> Marker {
    [
        Marker::Circle,
        Marker::Triangle,
        Marker::Square,
        Marker::Cross,
    ][idx % 4]
}

/// Maps any plotters error to [`Error::Draw`].
pub(crate) fn draw_err<E: std::fmt::Display>(e: E) -> Error {
    Error::Draw(e.to_string())
}

/// Text style of `size` pixels, anchored at `h`/`v`.
pub(crate) fn text(size: u32, color: RGBColor, h: HPos, v: VPos) -> TextStyle<'static> {
    TextStyle {
        font: (FONT, size).into_font(),
        color: color.to_backend_color(),
        pos: Pos::new(h, v),
    }
}

/// Draws a figure of `width` x `height` pixels: white background, the title above, the seed and
/// command (and note) below, `body` in between. Returns the SVG text.
pub(crate) fn frame(
    width: u32,
    height: u32,
    caption: &Caption,
    body: impl FnOnce(&Area<'_>) -> Result<(), Error>,
) -> Result<String, Error> {
    let footer_lines = wrap(&caption.footer(), (width as usize).saturating_sub(20) / 7);
    let note_lines = caption
        .note
        .as_deref()
        .map(|n| wrap(n, (width as usize).saturating_sub(20) / 7))
        .unwrap_or_default();
    let n_lines = footer_lines.len() + note_lines.len();
    let footer_px = 10 + 16 * n_lines as u32;
    let title_px = 34;
    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, (width, height + footer_px)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        root.draw_text(
            &caption.title,
            &TextStyle::from((FONT, TITLE_FONT).into_font().style(FontStyle::Bold))
                .color(&BLACK)
                .pos(Pos::new(HPos::Center, VPos::Top)),
            (width as i32 / 2, 8),
        )
        .map_err(draw_err)?;
        let (top, rest) = root.split_vertically(title_px);
        drop(top);
        let (body_area, foot) = rest.split_vertically(height - title_px);
        body(&body_area)?;
        let mut y = 4;
        for line in note_lines.iter().chain(footer_lines.iter()) {
            foot.draw_text(
                line,
                &text(CAPTION_FONT, DARK_GREY, HPos::Left, VPos::Top),
                (10, y),
            )
            .map_err(draw_err)?;
            y += 16;
        }
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}

/// Splits `s` into lines of at most `width` characters at spaces (a longer word stays whole).
pub(crate) fn wrap(s: &str, width: usize) -> Vec<String> {
    let width = width.max(20);
    let mut lines = Vec::new();
    let mut cur = String::new();
    // A word longer than a line (a long list of paths) is cut into line-long pieces.
    let pieces = s.split(' ').flat_map(|word| {
        let chars: Vec<char> = word.chars().collect();
        chars
            .chunks(width)
            .map(|c| c.iter().collect::<String>())
            .collect::<Vec<_>>()
    });
    for word in pieces {
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(&word);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

/// A tick or table number: three significant digits, scientific notation below 0.001.
pub(crate) fn num(v: f64) -> String {
    if !v.is_finite() {
        return "-".to_owned();
    }
    let a = v.abs();
    if a == 0.0 {
        "0".to_owned()
    } else if !(1e-3..1e6).contains(&a) {
        let s = format!("{v:.2e}");
        // "1.50e-5" -> "1.5e-5"
        match s.split_once('e') {
            Some((m, e)) => {
                let m = if m.contains('.') {
                    m.trim_end_matches('0').trim_end_matches('.')
                } else {
                    m
                };
                format!("{m}e{e}")
            }
            None => s,
        }
    } else {
        let digits = (2 - a.log10().floor() as i32).clamp(0, 6) as usize;
        let s = format!("{v:.digits$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            s
        }
    }
}

/// `[lo, hi]` of the finite values with 5% padding on both sides (a single value gets +-10%, or +-1
/// at zero); `None` when there is no finite value.
pub(crate) fn padded_range(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for v in values {
        if v.is_finite() {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    if lo > hi {
        return None;
    }
    if hi - lo <= f64::EPSILON * hi.abs().max(1.0) {
        let d = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return Some((lo - d, hi + d));
    }
    let pad = (hi - lo) * 0.05;
    Some((lo - pad, hi + pad))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short() {
        assert_eq!(num(0.0), "0");
        assert_eq!(num(1.0), "1");
        assert_eq!(num(12.345), "12.3");
        assert_eq!(num(0.0123), "0.0123");
        assert_eq!(num(1.5e-5), "1.5e-5");
        assert_eq!(num(250.0), "250");
        assert_eq!(num(f64::NAN), "-");
    }

    #[test]
    fn wrap_cuts_long_words() {
        let long = "x".repeat(45);
        assert_eq!(
            wrap(&format!("a {long}"), 20),
            vec![
                "a".to_owned(),
                "x".repeat(20),
                "x".repeat(20),
                "x".repeat(5)
            ]
        );
    }

    #[test]
    fn wrap_keeps_words() {
        assert_eq!(
            wrap("aaaa bbbb cccc dddd eeee ffff gggg", 20),
            vec!["aaaa bbbb cccc dddd", "eeee ffff gggg"]
        );
    }

    #[test]
    fn ranges_pad() {
        assert_eq!(padded_range([f64::NAN]), None);
        assert_eq!(padded_range([0.0]), Some((-1.0, 1.0)));
        let (lo, hi) = padded_range([0.0, 10.0]).unwrap();
        assert!((lo + 0.5).abs() < 1e-12 && (hi - 10.5).abs() < 1e-12);
    }
}
