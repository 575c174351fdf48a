//! PNG output: the SVG rasterised by resvg in pure Rust, text set in the embedded DejaVu Sans subset
//! (`fonts/`), so no system font or library is needed.

use std::sync::{Arc, OnceLock};

use resvg::{tiny_skia, usvg};

use crate::Error;

/// DejaVu Sans, subset to Latin-1, Greek and a few symbols (fonts/LICENSE.txt).
static FONT_TTF: &[u8] = include_bytes!("../fonts/DejaVuSans-subset.ttf");

/// The one font database, built on first use with the embedded font only.
fn fontdb() -> Arc<usvg::fontdb::Database> {
    static DB: OnceLock<Arc<usvg::fontdb::Database>> = OnceLock::new();
    DB.get_or_init(|| {
        let mut db = usvg::fontdb::Database::new();
        db.load_font_data(FONT_TTF.to_vec());
        // Every generic family the SVG may name resolves to the embedded font.
        db.set_sans_serif_family("DejaVu Sans");
        db.set_serif_family("DejaVu Sans");
        db.set_monospace_family("DejaVu Sans");
        Arc::new(db)
    })
    .clone()
}

/// Rasterises `svg` at `scale` times its size on a white background and encodes it as PNG.
/// Deterministic: the same SVG and scale give the same bytes.
pub fn svg_to_png(svg: &str, scale: f32) -> Result<Vec<u8>, Error> {
    let opt = usvg::Options {
        font_family: "DejaVu Sans".to_owned(),
        fontdb: fontdb(),
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(svg, &opt).map_err(|e| Error::Png(e.to_string()))?;
    let size =
        tree.size().to_int_size().scale_by(scale).ok_or_else(|| {
            Error::Png(format!("cannot scale a {:?} image by {scale}", tree.size()))
        })?;
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or_else(|| Error::Png(format!("empty image {size:?}")))?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap.encode_png().map_err(|e| Error::Png(e.to_string()))
}

/// Width, height and the share of inked pixels (opaque and not near white) of a PNG image: the
/// browser check's "the screenshot is not blank".
pub fn png_ink(png: &[u8]) -> Result<(u32, u32, f64), Error> {
    let p = tiny_skia::Pixmap::decode_png(png).map_err(|e| Error::Png(e.to_string()))?;
    let n_ink = p
        .pixels()
        .iter()
        .filter(|c| c.alpha() > 0 && (c.red() < 240 || c.green() < 240 || c.blue() < 240))
        .count();
    let n = (p.width() as usize * p.height() as usize).max(1);
    Ok((p.width(), p.height(), n_ink as f64 / n as f64))
}
