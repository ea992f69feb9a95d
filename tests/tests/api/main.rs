//! The black-box suite: HTTP against the running app, one binary so the app
//! starts once (see tests/README.md).

mod catalog;
mod health;
