//! A page's static files (HTML, one script, one style sheet, strings),
//! compiled into a component and served under one directory with their
//! content type, an ETag, a strict Content-Security-Policy and revalidating
//! cache headers. The kiosk (`/kiosk/`) and the insights page
//! (`/insights/`) are served this way.
//!
//! Why `no-cache` (revalidate every time) and not a long max-age? A page
//! stays open for a whole shift, so reloads are rare, and a 304 is a few
//! hundred bytes; in exchange the HTML, the script and the strings can
//! never come from two different deployments at once.
//!
//! Why a strict CSP? Everything is `'self'`: no inline script or style (the
//! pages have none, so an injected `<script>` or `onclick=` in a value from
//! the API can never run), no plugins, no framing (a page inside another
//! site's frame could be click-jacked).

use crate::web::Problem;
use crate::web::etag::none_match;
use sha2::{Digest, Sha256};
use spin_sdk::http::{Method, Request, Response};

/// One embedded file.
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

/// A page: the directory it lives in and its files.
pub struct StaticPage {
    /// The directory, with both slashes (`/kiosk/`); the bare prefix
    /// redirects here so that the page's relative URLs resolve inside it.
    pub dir: &'static str,
    pub assets: &'static [Asset],
    pub content_security_policy: &'static str,
    pub permissions_policy: &'static str,
}

impl StaticPage {
    /// The answer for a path under the page's directory, or `None` for
    /// any other path (which the component's API answers).
    pub fn serve(&self, req: &Request) -> Option<Response> {
        let path = req.path();
        let bare = self.dir.trim_end_matches('/');
        if path != bare && !path.starts_with(self.dir) {
            return None;
        }
        let method = req.method();
        if *method != Method::Get && *method != Method::Head {
            return Some(Problem::method_not_allowed("GET, HEAD").into_response());
        }
        if path == bare {
            let location = match req.query() {
                "" => self.dir.to_owned(),
                query => format!("{}?{query}", self.dir),
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
        let name = match &path[self.dir.len()..] {
            "" => "index.html",
            name => name,
        };
        let Some(asset) = self.assets.iter().find(|a| a.name == name) else {
            let shown: String = path.chars().take(200).collect();
            return Some(Problem::not_found(format!("no page file at {shown}")).into_response());
        };
        Some(self.respond(req, asset))
    }

    fn respond(&self, req: &Request, asset: &Asset) -> Response {
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
            .header("permissions-policy", self.permissions_policy)
            .header("content-security-policy", self.content_security_policy);
        if status == 200 {
            builder.header("content-type", asset.content_type);
        }
        builder.body(body).build()
    }
}

/// A strong ETag from the content, so it changes exactly when the file does.
pub fn etag(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}
