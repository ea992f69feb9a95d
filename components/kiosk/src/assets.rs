//! The kiosk page's static files, compiled into the component and served
//! under `/kiosk/` by [`omni_shared::web::static_page`] (content type, ETag,
//! strict CSP, revalidating cache headers).
//!
//! Why this CSP? Everything is `'self'`: no inline script or style (the page
//! has none, so an injected `<script>` or `onclick=` in a scanned value can
//! never run), no plugins, no framing (a kiosk page inside another site's
//! frame could be click-jacked), and the only images are the page's own or
//! `data:` URLs. The camera is allowed for this origin only, for the
//! BarcodeDetector scan.

use omni_shared::web::static_page::{Asset, StaticPage};

/// The page's policy: see the module docs.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; media-src 'self' blob:; font-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The kiosk page.
pub static PAGE: StaticPage = StaticPage {
    dir: "/kiosk/",
    assets: ASSETS,
    content_security_policy: CONTENT_SECURITY_POLICY,
    permissions_policy: "camera=(self), microphone=(), geolocation=()",
};

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
