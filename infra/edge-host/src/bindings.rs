//! Host bindings for the three Spin 2.0 interfaces edge-host implements
//! (`fermyon:spin/key-value`, `sqlite` and `variables` @2.0.0), generated from
//! the WIT files copied out of the spin-sdk 5.2.0 crate into `wit/`.
//!
//! Why only these three? They are what the app's components import; binding
//! a small world keeps the generated code small, and a component importing
//! any other Spin interface fails to link at start-up with the interface
//! named, instead of trapping on first use. The `store` and `connection`
//! resources map to host types kept in each request's `ResourceTable`.

wasmtime::component::bindgen!({
    path: "wit",
    world: "edge:host/spin-capabilities",
    imports: { default: async | trappable },
    with: {
        "fermyon:spin/key-value.store": crate::kv::KvStore,
        "fermyon:spin/sqlite.connection": crate::sqlite::SqlConnection,
        "spin:postgres/postgres.connection": crate::pg::PgConnection,
    },
});
