//! `omni-demo history BASE_URL [--weeks 5]`: weeks of shopping across
//! channels and stores, written through the public API as the shoppers,
//! stores and tills of those days would have, so the insights page
//! (`/insights/`) shows meaningful pictures under `make run`.
//!
//! How can an API write the past? The local edge host's test clock
//! (`--test-clock`, `POST /_edge/clock`): the history sets the guests' wall
//! clock to each moment (a cart started, an order placed, made ready 40
//! minutes later, collected the next day) and makes that moment's call.
//! Every figure therefore comes from the same rules as a live shop's: the
//! SLA promise is the store's own hours, abandonment is the cart expiry
//! sweep, uncollected orders expire by the order sweep. The clock is set
//! back to the real time when the history is written (also on failure).
//!
//! Deterministic: one seeded generator drives every choice, so the same
//! day gives the same history. Idempotent: an app that already has orders
//! in the history's weeks is left as it is. Stock is topped up for the
//! history's shops each week and put back to `infra/demo/stock.json` at the
//! end, so the demo shelves read as before.

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use omni_shared::auth::Caller;
use omni_shared::hours::TimeZone;
use omni_shared::ids::{CustomerId, StoreId};
use serde_json::{Value, json};
use std::path::Path;

use crate::seed::{Api, explain, read, rows, seed_stock};

/// The stores with a history (the Polish ones: one currency keeps the demo's
/// revenue a single figure), with the hour their day starts (local).
const STORES: &[(&str, u32)] = &[("WAW-01", 9), ("WAW-02", 10), ("KRK-01", 10)];
/// The tills and kiosks carts are paid at.
const TILLS: &[&str] = &["WAW-01", "KRK-01"];
const ZONE: &str = "Europe/Warsaw";
/// Days a cart lives untouched before the sweep abandons it (spin.toml's
/// `cart_expiry_days` default) and a ready order waits for its customer
/// (`pickup_expiry_days`).
const CART_EXPIRY_DAYS: i64 = 30;
/// The limited code of the demo's promotions that the history uses up.
const LIMITED_CODE: &str = "AUTUMN25";

/// SplitMix64: a tiny, well-known generator; enough for varied, repeatable
/// demo data (nothing here is a secret).
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A whole number in `low..=high`.
    fn between(&mut self, low: i64, high: i64) -> i64 {
        low + (self.next() % (high - low + 1) as u64) as i64
    }

    /// True with probability `percent` / 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, from: &'a [T]) -> &'a T {
        &from[(self.next() % from.len() as u64) as usize]
    }
}

struct History {
    ops: Api,
    zone: TimeZone,
    dice: Dice,
    /// The SKUs each history store sells, from the demo stock file.
    skus: Vec<(String, Vec<String>)>,
    now: DateTime<Utc>,
    /// What the guests' clock reads (tokens must be valid then).
    clock_now: DateTime<Utc>,
    customers: u32,
    counts: Counts,
}

#[derive(Default)]
struct Counts {
    orders: u32,
    collected: u32,
    till_sales: u32,
    shipped: u32,
    abandoned_carts: u32,
    returns: u32,
    calls: u32,
}

pub fn run(args: &[String]) -> Result<()> {
    let base = args
        .first()
        .filter(|a| !a.starts_with("--"))
        .context("usage: omni-demo history BASE_URL [--weeks 5]")?;
    let weeks: i64 = match args.windows(2).find(|w| w[0] == "--weeks") {
        Some(w) => w[1]
            .parse()
            .ok()
            .filter(|n| (1..=12).contains(n))
            .context("--weeks is a whole number from 1 to 12")?,
        None => 5,
    };
    let ops = Api::new(
        base,
        crate::token(
            &[
                "--role",
                "ops",
                "--sub",
                "demo-history",
                "--ttl-secs",
                "3600",
            ]
            .map(String::from),
        )?,
    );
    let zone = TimeZone::parse(ZONE).map_err(|e| anyhow::anyhow!("{e}"))?;
    let now = Utc::now();
    let today = zone.local(now).date();
    let first = today - Duration::days(weeks * 7);
    let yesterday = today - Duration::days(1);

    let (status, held) = ops.call(
        "GET",
        &format!("/api/insights/sales?from={first}&to={yesterday}"),
        None,
    )?;
    if status != 200 {
        bail!(
            "the app has no insights figures (GET /api/insights/sales answered {status}: {})",
            explain(&held)
        );
    }
    let already = held["sales"]["orders"].as_i64().unwrap_or(0);
    if already > 0 {
        println!(
            "{:<18} already there ({already} orders from {first} to {yesterday}); nothing sent",
            "history"
        );
        return Ok(());
    }
    let (status, _) = ops.call("GET", "/_edge/clock", None)?;
    if status != 200 {
        bail!(
            "writing the past needs the local edge host's test clock (edge-host up --test-clock, as make run starts it); \
             this app has none (GET /_edge/clock answered {status}), so no history was written"
        );
    }

    let stock = read(Path::new("infra/demo"), "stock.json")?;
    let skus = STORES
        .iter()
        .map(|(store, _)| {
            let lines = rows(&stock, "feeds")?
                .iter()
                .filter(|f| f["store_id"] == *store)
                .flat_map(|f| f["lines"].as_array().cloned().unwrap_or_default())
                .filter(|l| l["on_hand"].as_i64().unwrap_or(0) >= 4)
                .filter_map(|l| l["sku"].as_str().map(str::to_owned))
                .take(14)
                .collect::<Vec<_>>();
            Ok(((*store).to_owned(), lines))
        })
        .collect::<Result<Vec<_>>>()?;

    let started = std::time::Instant::now();
    let mut history = History {
        ops,
        zone,
        dice: Dice(0x0DD5_2026_1204),
        skus,
        now,
        clock_now: now,
        customers: 0,
        counts: Counts::default(),
    };
    let written = history.write(first, yesterday);
    // The clock goes back to the real time whatever happened.
    let reset = history
        .ops
        .call("POST", "/_edge/clock", Some(&json!({"offset_seconds": 0})));
    written?;
    reset?;
    history.ops.post("/api/orders/sweep", &json!({}))?;
    seed_stock(&history.ops, rows(&stock, "feeds")?)?;
    let c = &history.counts;
    println!(
        "{:<18} {first} to {yesterday}: {} click & collect orders ({} collected), {} till and kiosk sales, {} shipped, \
         {} abandoned carts, {} returns; {} calls in {:.1}s",
        "history",
        c.orders,
        c.collected,
        c.till_sales,
        c.shipped,
        c.abandoned_carts,
        c.returns,
        c.calls,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

impl History {
    fn write(&mut self, first: NaiveDate, last: NaiveDate) -> Result<()> {
        // The carts that will be abandoned on each day were last touched
        // the cart expiry before it.
        for day in first.iter_days().take_while(|d| *d <= last) {
            for _ in 0..self.dice.between(2, 4) {
                let at = self.some_time(day - Duration::days(CART_EXPIRY_DAYS + 1), 10, 21);
                let channel = *self.dice.pick(&["web", "app", "app"]);
                self.cart(at, channel, None)?;
                self.counts.abandoned_carts += 1;
            }
        }
        for (n, day) in first.iter_days().take_while(|d| *d <= last).enumerate() {
            if n % 7 == 0 {
                self.top_up_stock()?;
            }
            self.clock(self.at(day, 6, 0))?;
            self.operations()?.post("/api/carts/expire", &json!({}))?;
            let weekend = matches!(day.format("%a").to_string().as_str(), "Sat" | "Sun");
            for (index, (store, opens)) in STORES.iter().enumerate() {
                let busy = if weekend { 3 } else { 2 } + i64::from(index == 0);
                for _ in 0..self.dice.between(busy - 1, busy + 1) {
                    let at = self.some_time(day, i64::from(*opens), i64::from(*opens) + 8);
                    self.click_and_collect(store, at)?;
                }
            }
            for _ in 0..self.dice.between(3, 6) {
                let at = self.some_time(day, 10, 19);
                self.till_sale(at)?;
            }
            for _ in 0..self.dice.between(1, 2) {
                let at = self.some_time(day, 8, 22);
                self.shipped(at)?;
            }
            self.clock(self.at(day, 23, 30))?;
            self.operations()?.post("/api/orders/sweep", &json!({}))?;
        }
        Ok(())
    }

    /// The instant a Warsaw wall clock reads `hour:minute` on `day`.
    fn at(&self, day: NaiveDate, hour: i64, minute: i64) -> DateTime<Utc> {
        let time = NaiveTime::from_hms_opt(hour.clamp(0, 23) as u32, minute.clamp(0, 59) as u32, 0)
            .expect("a valid time");
        self.zone.first_instant_at_or_after(day.and_time(time))
    }

    /// A moment of `day` between `from` o'clock and the end of hour `to`.
    fn some_time(&mut self, day: NaiveDate, from: i64, to: i64) -> DateTime<Utc> {
        let (hour, minute) = (self.dice.between(from, to), self.dice.between(0, 59));
        self.at(day, hour, minute)
    }

    fn clock(&mut self, at: DateTime<Utc>) -> Result<()> {
        self.counts.calls += 1;
        let (status, answer) = self.ops.call(
            "POST",
            "/_edge/clock",
            Some(&json!({"now": at.to_rfc3339()})),
        )?;
        if status != 200 {
            bail!(
                "setting the test clock to {at} answered {status}: {}",
                explain(&answer)
            );
        }
        self.clock_now = at;
        Ok(())
    }

    /// The operator's client, with a token valid at the clock's moment.
    fn operations(&self) -> Result<Api> {
        self.as_caller(
            &Caller::Ops {
                operator: "demo-history".into(),
            },
            self.clock_now,
        )
    }

    fn as_caller(&self, caller: &Caller, at: DateTime<Utc>) -> Result<Api> {
        Ok(self.ops.with_token(crate::signed(
            caller,
            at - Duration::seconds(5),
            Duration::hours(2),
        )?))
    }

    fn customer(&mut self) -> Result<Caller> {
        self.customers += 1;
        Ok(Caller::Customer(CustomerId::parse(&format!(
            "C-H{:05}",
            self.customers
        ))?))
    }

    fn device(store: &str, device: &str) -> Result<Caller> {
        Ok(Caller::StoreDevice {
            store: StoreId::parse(store)?,
            device: device.to_owned(),
        })
    }

    /// One call as `who` at the clock's moment; `None` when the app
    /// refuses it (an out-of-stock size, a used-up code): shoppers meet
    /// refusals too, and the history goes on.
    fn call(
        &mut self,
        who: &Api,
        method: &str,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Result<Option<Value>> {
        self.counts.calls += 1;
        let (status, answer) = who.call_with(method, path, body.as_ref(), headers)?;
        match status {
            200 | 201 => Ok(Some(answer)),
            400..=499 => {
                if std::env::var_os("OMNI_HISTORY_VERBOSE").is_some() {
                    eprintln!("refused: {method} {path} {status} {}", explain(&answer));
                }
                Ok(None)
            }
            _ => bail!("{method} {path} answered {status}: {}", explain(&answer)),
        }
    }

    /// A customer's cart started in `channel` at `at` with one or two
    /// lines: its id and its customer.
    /// The lines come from `store`'s SKUs (any history store's when `None`).
    fn cart(
        &mut self,
        at: DateTime<Utc>,
        channel: &str,
        store: Option<&str>,
    ) -> Result<Option<(String, Caller)>> {
        self.clock(at)?;
        let shopper = self.customer()?;
        let api = self.as_caller(&shopper, at)?;
        let headers = [("x-channel", channel)];
        let Some(cart) = self.call(
            &api,
            "POST",
            "/api/carts",
            Some(json!({"channel": channel})),
            &headers,
        )?
        else {
            return Ok(None);
        };
        let id = cart["cart_id"].as_str().context("cart_id")?.to_owned();
        for _ in 0..self.dice.between(1, 2) {
            let (_, skus) = match store {
                Some(store) => self
                    .skus
                    .iter()
                    .find(|(s, _)| s == store)
                    .context("a history store")?
                    .clone(),
                None => self.dice.pick(&self.skus).clone(),
            };
            let sku = self.dice.pick(&skus).clone();
            self.call(
                &api,
                "POST",
                &format!("/api/carts/{id}/lines"),
                Some(json!({"sku": sku, "quantity": 1})),
                &headers,
            )?;
        }
        Ok(Some((id, shopper)))
    }

    /// Freezes a cart for payment at `at`: its checkout (id and handoff
    /// code, valid for a few minutes).
    fn checkout(
        &mut self,
        id: &str,
        shopper: &Caller,
        at: DateTime<Utc>,
        channel: &str,
    ) -> Result<Option<Value>> {
        self.clock(at)?;
        let api = &self.as_caller(shopper, at)?;
        let headers = [("x-channel", channel)];
        if self.dice.chance(40) {
            let code = if self.dice.chance(60) {
                LIMITED_CODE
            } else {
                "WELCOME10"
            };
            self.call(
                api,
                "POST",
                &format!("/api/carts/{id}/coupons"),
                Some(json!({"code": code})),
                &headers,
            )?;
        }
        let Some(cart) = self.call(api, "GET", &format!("/api/carts/{id}"), None, &headers)? else {
            return Ok(None);
        };
        let if_match = format!("\"v{}\"", cart["version"]);
        self.call(
            api,
            "POST",
            &format!("/api/carts/{id}/checkouts"),
            None,
            &[("x-channel", channel), ("if-match", &if_match)],
        )
    }

    /// A cart started in the app or on the web and paid at a till or a
    /// kiosk.
    fn till_sale(&mut self, at: DateTime<Utc>) -> Result<()> {
        let started = *self.dice.pick(&["app", "app", "web"]);
        let started_at = at - Duration::hours(self.dice.between(1, 30));
        let Some((id, shopper)) = self.cart(started_at, started, None)? else {
            return Ok(());
        };
        let Some(frozen) = self.checkout(&id, &shopper, at - Duration::minutes(3), started)? else {
            return Ok(());
        };
        let store = *self.dice.pick(TILLS);
        let finished = if self.dice.chance(70) { "pos" } else { "kiosk" };
        self.clock(at)?;
        let till = self.as_caller(&Self::device(store, "till-1")?, at)?;
        let code = frozen["handoff"]["code"].as_str().context("handoff code")?;
        if self
            .call(
                &till,
                "POST",
                &format!("/api/carts/handoff/{code}/complete"),
                None,
                &[("x-channel", finished)],
            )?
            .is_some()
        {
            self.counts.till_sales += 1;
        }
        Ok(())
    }

    /// A cart turned into a ship-from-store order from WAW-01, shipped the
    /// same day.
    fn shipped(&mut self, at: DateTime<Utc>) -> Result<()> {
        let channel = *self.dice.pick(&["web", "app"]);
        let started_at = at - Duration::minutes(self.dice.between(5, 600));
        let Some((id, shopper)) = self.cart(started_at, channel, Some("WAW-01"))? else {
            return Ok(());
        };
        let Some(frozen) = self.checkout(&id, &shopper, at - Duration::minutes(2), channel)? else {
            return Ok(());
        };
        self.clock(at)?;
        let api = self.as_caller(&shopper, at)?;
        let address = json!({"name": "Demo Shopper", "street": "Marszałkowska 1", "city": "Warszawa", "postal_code": "00-001", "country": "PL"});
        let body = json!({"channel": channel, "fulfilment": "ship_from_store", "store_id": "WAW-01", "checkout_id": frozen["checkout_id"], "delivery_address": address, "locale": "pl"});
        let Some(order) = self.call(&api, "POST", "/api/orders", Some(body), &[])? else {
            return Ok(());
        };
        let id = order["order_id"].as_str().context("order_id")?.to_owned();
        let later = at + Duration::hours(self.dice.between(2, 6));
        self.clock(later)?;
        let store = self.as_caller(&Self::device("WAW-01", "backroom")?, later)?;
        for status in ["accepted", "picking"] {
            self.call(
                &store,
                "POST",
                &format!("/api/orders/{id}/transitions"),
                Some(json!({"status": status})),
                &[],
            )?;
        }
        let tracking = json!({"status": "shipped", "tracking": {"carrier": "InPost", "url": format!("https://inpost.example/track/{id}")}});
        if self
            .call(
                &store,
                "POST",
                &format!("/api/orders/{id}/transitions"),
                Some(tracking),
                &[],
            )?
            .is_some()
        {
            self.counts.shipped += 1;
        }
        Ok(())
    }

    /// A click & collect order at `store` placed at `at`, and what became
    /// of it: cancelled, made ready on time or late, collected or left
    /// to expire, sometimes returned.
    fn click_and_collect(&mut self, store: &str, at: DateTime<Utc>) -> Result<()> {
        self.clock(at)?;
        let shopper = self.customer()?;
        let api = self.as_caller(&shopper, at)?;
        let skus = self
            .skus
            .iter()
            .find(|(s, _)| s == store)
            .map(|(_, k)| k.clone())
            .unwrap_or_default();
        let sku = self.dice.pick(&skus).clone();
        let Some(hold) = self.call(
            &api,
            "POST",
            "/api/reservations",
            Some(json!({"store_id": store, "lines": [{"sku": sku, "quantity": 1}]})),
            &[],
        )?
        else {
            return Ok(());
        };
        let channel = *self.dice.pick(&["web", "app", "app", "web", "app"]);
        let locale = if self.dice.chance(80) { "pl" } else { "en" };
        let body = json!({"fulfilment": "click_and_collect", "reservation_id": hold["reservation_id"], "channel": channel, "locale": locale});
        let Some(order) = self.call(&api, "POST", "/api/orders", Some(body), &[])? else {
            return Ok(());
        };
        self.counts.orders += 1;
        let id = order["order_id"].as_str().context("order_id")?.to_owned();
        let ready_by: DateTime<Utc> = order["ready_by"].as_str().context("ready_by")?.parse()?;
        let device = Self::device(store, "kiosk-1")?;
        let move_to = |history: &mut History, when: DateTime<Utc>, status: &str| -> Result<bool> {
            history.clock(when)?;
            let store = history.as_caller(&device, when)?;
            Ok(history
                .call(
                    &store,
                    "POST",
                    &format!("/api/orders/{id}/transitions"),
                    Some(json!({"status": status, "channel": "kiosk"})),
                    &[],
                )?
                .is_some())
        };
        if self.dice.chance(4) {
            move_to(self, at + Duration::minutes(12), "cancelled")?;
            return Ok(());
        }
        // Most stores keep their promise; a busy Saturday less so.
        let late = self.dice.chance(if at.format("%a").to_string() == "Sat" {
            30
        } else {
            14
        });
        let ready_at = if late {
            ready_by + Duration::minutes(self.dice.between(5, 120))
        } else {
            let room = (ready_by - at).num_minutes().max(20);
            at + Duration::minutes(self.dice.between(15, room.min(240)))
        };
        if ready_at > self.now {
            return Ok(());
        }
        move_to(
            self,
            at + Duration::minutes(5).min(ready_at - at),
            "accepted",
        )?;
        move_to(
            self,
            at + Duration::minutes(8).min(ready_at - at),
            "picking",
        )?;
        if !move_to(self, ready_at, "ready_for_pickup")? {
            return Ok(());
        }
        if self.dice.chance(9) {
            return Ok(()); // never collected: the order sweep expires it
        }
        let collected_at = ready_at + Duration::minutes(self.dice.between(20, 36 * 60));
        if collected_at > self.now || !move_to(self, collected_at, "picked_up")? {
            return Ok(());
        }
        self.counts.collected += 1;
        if self.dice.chance(11) {
            self.give_back(&shopper, &id, &sku, channel, collected_at)?;
        }
        Ok(())
    }

    /// A return of a collected order: started in the app or on the web,
    /// received at a store's kiosk or till a day or so later, refunded.
    fn give_back(
        &mut self,
        shopper: &Caller,
        order: &str,
        sku: &str,
        bought_in: &str,
        collected_at: DateTime<Utc>,
    ) -> Result<()> {
        let opened_at = collected_at + Duration::hours(self.dice.between(20, 120));
        let received_at = opened_at + Duration::hours(self.dice.between(4, 60));
        if received_at > self.now {
            return Ok(());
        }
        let opened_in = match bought_in {
            other if self.dice.chance(70) => other,
            "web" => "app",
            _ => "web",
        };
        self.clock(opened_at)?;
        let api = self.as_caller(shopper, opened_at)?;
        let reason =
            *self
                .dice
                .pick(&["too small", "too big", "not as pictured", "changed my mind"]);
        let body = json!({"order_id": order, "channel": opened_in, "lines": [{"sku": sku, "quantity": 1, "reason": reason}]});
        let Some(opened) = self.call(&api, "POST", "/api/returns", Some(body), &[])? else {
            return Ok(());
        };
        self.counts.returns += 1;
        let store = STORES[self.dice.between(0, STORES.len() as i64 - 1) as usize].0;
        let via = if self.dice.chance(70) { "kiosk" } else { "pos" };
        self.clock(received_at)?;
        let device = self.as_caller(&Self::device(store, "kiosk-1")?, received_at)?;
        let code = &opened["return_code"]["code"];
        if self
            .call(
                &device,
                "POST",
                "/api/returns/intakes",
                Some(json!({"code": code, "channel": via})),
                &[],
            )?
            .is_none()
        {
            return Ok(());
        }
        if self.dice.chance(90) {
            let case = opened["case_number"].as_str().context("case_number")?;
            self.call(
                &device,
                "POST",
                &format!("/api/returns/{case}/refund"),
                Some(json!({"channel": via})),
                &[],
            )?;
        }
        Ok(())
    }

    /// Each history store's SKUs back to a full shelf, so a busy week
    /// never runs a size out (the end of the history puts the demo counts
    /// back).
    fn top_up_stock(&mut self) -> Result<()> {
        let sequence = Utc::now().timestamp_millis();
        let feeds: Vec<Value> = self
            .skus
            .iter()
            .map(|(store, skus)| {
                json!({"store_id": store, "sequence": sequence,
                    "lines": skus.iter().map(|sku| json!({"sku": sku, "on_hand": 60})).collect::<Vec<_>>()})
            })
            .collect();
        self.counts.calls += 1;
        self.operations()?
            .post("/api/availability/feed", &json!({ "feeds": feeds }))?;
        Ok(())
    }
}
