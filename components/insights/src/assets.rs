//! The insights page's static files, compiled into the component and served
//! under `/insights/` by [`omni_shared::web::static_page`].
//!
//! Why this CSP? As the kiosk's: everything `'self'`, no inline script or
//! style, no framing; the charts are inline SVG drawn by the page's own
//! script, so no image source beyond `'self'` is needed, and no camera.

use omni_shared::web::static_page::{Asset, StaticPage};

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub static PAGE: StaticPage = StaticPage {
    dir: "/insights/",
    assets: ASSETS,
    content_security_policy: CONTENT_SECURITY_POLICY,
    permissions_policy: "camera=(), microphone=(), geolocation=()",
};

pub static ASSETS: &[Asset] = &[
    Asset {
        name: "index.html",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("../assets/index.html"),
    },
    Asset {
        name: "insights.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/insights.js"),
    },
    Asset {
        name: "insights.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../assets/insights.css"),
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
];
