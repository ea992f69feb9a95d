//! Every component is deployed, routed and answering.

use blackbox_tests::app;

#[test]
fn every_component_answers_its_health_route() {
    let app = app();
    for (prefix, component) in [
        ("/api/catalog", "catalog"),
        ("/api/carts", "cart-sync"),
        ("/api/coupons", "coupons"),
        ("/api/availability", "availability"),
        ("/api/orders", "pickups"),
        ("/api/returns", "returns"),
    ] {
        let reply = app.get(&format!("{prefix}/health"), None);
        assert_eq!(reply.status, 200, "{prefix}: {}", reply.text());
        let body = reply.json();
        assert_eq!(body["component"], component);
        assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    }
}

#[test]
fn a_path_no_route_matches_is_a_404_problem() {
    let app = app();
    // Outside every route the runtime answers (a plain 404 under `spin up`).
    assert_eq!(app.get("/nowhere", None).status, 404);
    // Inside a component's routes the component answers with a problem.
    app.get("/api/carts/nothing-here", None).problem(404);
}

#[test]
fn cors_preflights_answer_allowed_storefront_origins_only() {
    let app = app();
    let preflight = |origin: &str| {
        app.send(
            "OPTIONS",
            "/api/catalog/items",
            None,
            &[
                ("origin", origin),
                ("access-control-request-method", "POST"),
            ],
            None,
        )
    };
    let allowed = preflight("https://shop.example");
    assert_eq!(allowed.status, 204);
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("https://shop.example")
    );
    preflight("https://evil.example").problem(403);
}
