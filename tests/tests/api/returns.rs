//! Return intake (issue 8) over HTTP: golden path 4, exchange, concurrent intakes.
