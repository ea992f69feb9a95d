//! The HTTP conventions every component shares: problem+json errors, bounded
//! JSON bodies, ETag/If-Match, Idempotency-Key, CORS and a small router.
//!
//! Why here and not in each component? A storefront, the app and a till talk
//! to six components; if one answered errors in its own shape or let a stale
//! write through, the seam between channels would reopen at the HTTP layer.
//! Everything works on spin-sdk's `Request`/`Response` values, which are plain
//! data on the host too, so it is all tested natively.
//!
//! Header names are always written in lower case: spin-sdk looks headers up
//! lower-cased but stores `set_header` names as given.

pub mod body;
pub mod cors;
pub mod etag;
pub mod idempotency;
pub mod page;
pub mod problem;
pub mod query;
pub mod route;
pub mod static_page;
pub mod strict_json;

pub use body::{json_response, parse_json, parse_json_with_limit};
pub use cors::Cors;
pub use etag::{IfMatch, with_etag};
pub use idempotency::run_idempotent;
pub use page::PageRequest;
pub use problem::Problem;
pub use route::Route;
