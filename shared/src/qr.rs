//! QR codes as SVG: what the app shows and a till or kiosk scans (a cart
//! handed to the till, a pickup code, a return code).
//!
//! Why SVG and not PNG? It is text, so it travels inside a JSON answer with
//! no second request, scales to any screen without blurring, and needs no
//! image codec in the .wasm (the `qrcode` crate is built without its `image`
//! feature). Why error-correction level M? It survives a cracked phone
//! screen or glare at the till (15 % of the modules may be lost) while a
//! signed code of about 60 characters still fits a small, quick-to-scan
//! symbol; H would make the symbol denser for little gain on a screen.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use std::fmt;

/// The longest payload encoded. Signed codes are about 50 to 100
/// characters; anything far longer makes a symbol a till struggles to read
/// off a phone, so it is refused rather than rendered.
pub const MAX_PAYLOAD_LEN: usize = 512;

/// The smallest rendered side in SVG user units (pixels at 100 % zoom).
pub const MIN_SIDE: u32 = 256;

/// Why a payload could not be turned into a QR code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QrError {
    Empty,
    TooLong { len: usize, max: usize },
}

impl fmt::Display for QrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QrError::Empty => write!(f, "a QR code needs a non-empty payload"),
            QrError::TooLong { len, max } => {
                write!(
                    f,
                    "a {len}-byte payload is too long for a scannable QR code (at most {max})"
                )
            }
        }
    }
}

impl std::error::Error for QrError {}

/// The QR code of `payload` as a standalone SVG document (dark modules on a
/// white square with the standard four-module quiet zone).
pub fn svg(payload: &str) -> Result<String, QrError> {
    if payload.is_empty() {
        return Err(QrError::Empty);
    }
    if payload.len() > MAX_PAYLOAD_LEN {
        return Err(QrError::TooLong {
            len: payload.len(),
            max: MAX_PAYLOAD_LEN,
        });
    }
    // Byte mode holds far more than MAX_PAYLOAD_LEN at level M (the largest
    // version takes about 2.3 kB), so encoding cannot fail past the checks.
    let code =
        QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M).map_err(|_| {
            QrError::TooLong {
                len: payload.len(),
                max: MAX_PAYLOAD_LEN,
            }
        })?;
    Ok(code
        .render::<svg::Color<'_>>()
        .min_dimensions(MIN_SIDE, MIN_SIDE)
        .quiet_zone(true)
        .dark_color(svg::Color("#000"))
        .light_color(svg::Color("#fff"))
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_code_renders_as_a_standalone_svg_document() {
        let image = svg("AQAAAABkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ei0xMjM0NTY3ODkwYWJjZA").unwrap();
        assert!(image.starts_with("<?xml"), "{}", &image[..40]);
        assert!(image.contains("<svg") && image.trim_end().ends_with("</svg>"));
        assert!(image.contains("viewBox"));
        assert!(image.len() < 20_000, "{} bytes", image.len());
    }

    #[test]
    fn different_payloads_give_different_symbols() {
        assert_ne!(svg("code-one").unwrap(), svg("code-two").unwrap());
        assert_eq!(svg("code-one").unwrap(), svg("code-one").unwrap());
    }

    #[test]
    fn the_symbol_is_at_least_the_minimum_side() {
        let image = svg("x").unwrap();
        let width: u32 = image
            .split("width=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(width >= MIN_SIDE, "{width}");
    }

    #[test]
    fn empty_and_overlong_payloads_are_refused() {
        assert_eq!(svg(""), Err(QrError::Empty));
        let long = "x".repeat(MAX_PAYLOAD_LEN + 1);
        assert_eq!(
            svg(&long),
            Err(QrError::TooLong {
                len: MAX_PAYLOAD_LEN + 1,
                max: MAX_PAYLOAD_LEN
            })
        );
        assert!(svg(&"x".repeat(MAX_PAYLOAD_LEN)).is_ok());
    }
}
