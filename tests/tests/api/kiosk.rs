//! The store kiosk page (issue 9): end-to-end in headless Chromium, driven by
//! tests/kiosk (playwright-core) against a seeded app.
