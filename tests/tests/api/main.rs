//! The black-box suite: HTTP against the running app, in one binary
//! (see tests/README.md). One module per component or journey.

mod api_style;
mod availability;
mod carts;
mod catalog;
mod cluster;
mod contract;
mod coupons;
mod crash;
mod demo;
mod deploy;
mod health;
mod insights;
mod kiosk;
mod openapi_documents;
mod pickups;
mod postgres_host;
mod readme;
mod returns;
mod runtime_config;
mod seams;
mod storefront;
mod zones;
