//! Black-box test support: starting the app and talking HTTP to it.
