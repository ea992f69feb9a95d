//! The kiosk page's static files, compiled into the component and served
//! under `/kiosk/` with their content type, an ETag, a strict
//! Content-Security-Policy and revalidating cache headers.
//!
//! Why `no-cache` (revalidate every time) and not a long max-age? A kiosk
//! keeps the page open for a whole shift, so reloads are rare, and a 304 is
//! a few hundred bytes; in exchange the HTML, the script and the strings can
//! never come from two different deployments at once.
//!
//! Why this CSP? Everything is `'self'`: no inline script or style (the page
//! has none, so an injected `<script>` or `onclick=` in a scanned value can
//! never run), no plugins, no framing (a kiosk page inside another site's
//! frame could be click-jacked), and the only images are the page's own or
//! `data:` URLs. The camera is allowed for this origin only, for the
//! BarcodeDetector scan.

use omni_shared::web::Problem;
use omni_shared::web::etag::none_match;
use sha2::{Digest, Sha256};
use spin_sdk::http::{Method, Request, Response};

/// The page's policy: see the module docs.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; media-src 'self' blob:; font-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The directory the page lives in; the bare prefix redirects here so that
/// the page's relative URLs (`kiosk.js`) resolve inside it.
pub const PAGE: &str = "/kiosk/";

/// One embedded file.
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

/// Every file the page is made of.
pub static ASSETS: &[Asset] = &[
    Asset {
        name: "index.html",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("../assets/index.html"),
    },
    Asset {
        name: "kiosk.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/kiosk.js"),
    },
    Asset {
        name: "kiosk.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../assets/kiosk.css"),
    },
    Asset {
        name: "strings-pl.json",
        content_type: "application/json; charset=utf-8",
        body: include_bytes!("../assets/strings-pl.json"),
    },
    Asset {
        name: "strings-en.json",
        content_type: "application/json; charset=utf-8",
        body: include_bytes!("../assets/strings-en.json"),
    },
    Asset {
        name: "icon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("../assets/icon.svg"),
    },
];

/// The answer for a path under `/kiosk`, or `None` for any other path.
pub fn serve(req: &Request) -> Option<Response> {
    let path = req.path();
    if path != "/kiosk" && !path.starts_with(PAGE) {
        return None;
    }
    let method = req.method();
    if *method != Method::Get && *method != Method::Head {
        return Some(Problem::method_not_allowed("GET, HEAD").into_response());
    }
    if path == "/kiosk" {
        let location = match req.query() {
            "" => PAGE.to_owned(),
            query => format!("{PAGE}?{query}"),
        };
        return Some(
            Response::builder()
                .status(308)
                .header("location", location)
                .header("cache-control", "no-cache")
                .body(Vec::new())
                .build(),
        );
    }
    let name = match &path[PAGE.len()..] {
        "" => "index.html",
        name => name,
    };
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        let shown: String = path.chars().take(200).collect();
        return Some(Problem::not_found(format!("no kiosk file at {shown}")).into_response());
    };
    Some(respond(req, asset))
}

/// A strong ETag from the content, so it changes exactly when the file does.
pub fn etag(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

fn respond(req: &Request, asset: &Asset) -> Response {
    let tag = etag(asset.body);
    let unchanged = none_match(req, &tag);
    let (status, body) = match (unchanged, *req.method() == Method::Head) {
        (true, _) => (304, Vec::new()),
        (false, true) => (200, Vec::new()),
        (false, false) => (200, asset.body.to_vec()),
    };
    let mut builder = Response::builder();
    builder
        .status(status)
        .header("etag", tag)
        .header("cache-control", "no-cache")
        .header("x-content-type-options", "nosniff")
        .header("referrer-policy", "no-referrer")
        .header("x-frame-options", "DENY")
        .header("cross-origin-opener-policy", "same-origin")
        .header(
            "permissions-policy",
            "camera=(self), microphone=(), geolocation=()",
        )
        .header("content-security-policy", CONTENT_SECURITY_POLICY);
    if status == 200 {
        builder.header("content-type", asset.content_type);
    }
    builder.body(body).build()
}
