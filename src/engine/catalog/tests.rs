//! The catalog's tests: the compact columns answer exactly as the listing's
//! reference (`LicenseQuery::apply` over full summaries) on random data, and
//! changes made while a load runs survive it.

use super::*;
use crate::domain::license::fixtures::license;
use crate::domain::ActivationLimit;
use crate::store::SortField;
use chrono::TimeZone;
use proptest::prelude::*;

/// A page of production licenses, with no product or customer names to search.
fn production_page(c: &Catalog, q: &LicenseQuery) -> Page<LicenseSummary> {
    c.query(Environment::Production, q, &HashMap::new(), &HashMap::new())
}

#[test]
fn the_customer_index_follows_assignments_and_deletes() {
    let c = Catalog::default();
    let env = Environment::Production;
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let mut l = license(LicenseStatus::Assigned, 5, &[]);
    l.customer_id = Some(a);
    c.upsert(&l);
    assert_eq!(c.keys_of_customer(env, a), vec![l.key.clone()]);
    l.customer_id = Some(b);
    c.upsert(&l);
    assert!(c.keys_of_customer(env, a).is_empty());
    assert_eq!(c.keys_of_customer(env, b), vec![l.key.clone()]);
    assert!(c.keys_of_customer(Environment::Staging, b).is_empty());
    c.remove(env, &l.key);
    assert!(c.keys_of_customer(env, b).is_empty());
}

#[test]
fn upserts_replace_and_removes_forget() {
    let c = Catalog::default();
    let mut l = license(LicenseStatus::Active, 5, &["a"]);
    c.upsert(&l);
    l.status = LicenseStatus::Suspended;
    c.upsert(&l);
    let q = LicenseQuery::default();
    let page = production_page(&c, &q);
    assert_eq!(page.total, 1);
    assert_eq!(page.items[0].status, LicenseStatus::Suspended);
    assert_eq!(page.items[0].activations_in_use, 1);
    c.remove(Environment::Production, &l.key);
    assert!(c.is_empty(Environment::Production));
}

#[test]
fn a_first_page_over_many_rows_is_sorted_and_counted() {
    let c = Catalog::default();
    for i in 0..5000 {
        let mut l = license(LicenseStatus::Available, 5, &[]);
        l.key = LicenseKey::parse(&format!("K-{:05}", (i * 7919) % 5000)).unwrap();
        c.upsert(&l);
    }
    let q = LicenseQuery {
        sort: SortField::Key,
        descending: false,
        page: 3,
        per_page: 10,
        ..LicenseQuery::default()
    };
    let page = production_page(&c, &q);
    assert_eq!(page.total, 5000);
    let keys: Vec<&str> = page.items.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(keys[0], "K-00020");
    assert_eq!(keys[9], "K-00029");
}

/// Three products and four customers (two share a name, one is unknown to the
/// name maps), so name sorts have ties and the unknown cases are covered.
/// Product ids, customer ids, and the name maps a query resolves them with.
type Fixture = (
    Vec<Uuid>,
    Vec<Uuid>,
    HashMap<Uuid, Product>,
    HashMap<Uuid, Customer>,
);

fn names_fixture() -> Fixture {
    let now = Utc::now();
    let pids: Vec<Uuid> = (0..4).map(|i| Uuid::from_u128(100 + i)).collect();
    let cids: Vec<Uuid> = (0..5).map(|i| Uuid::from_u128(200 + i)).collect();
    let products = ["Alpha Suite", "beta", "Alpha suite"]
        .iter()
        .zip(&pids)
        .map(|(name, id)| {
            let p = Product {
                id: *id,
                environment: Environment::Production,
                name: name.to_string(),
                description: String::new(),
                active: true,
                default_generator_id: None,
                created_at: now,
                features: Vec::new(),
                renew_url: String::new(),
                buy_url: String::new(),
            };
            (*id, p)
        })
        .collect();
    let customers = [
        ("Zed", "z@ab.test"),
        ("amy", "amy@x.test"),
        ("Zed", "zed@y.test"),
        ("Bob", "b@cd.test"),
    ]
    .iter()
    .zip(&cids)
    .map(|((name, email), id)| {
        let mut c = Customer::new(email.to_string(), name.to_string(), now);
        c.id = *id;
        (*id, c)
    })
    .collect();
    (pids, cids, products, customers)
}

/// A random license from small domains, so filters and sorts hit ties.
fn arb_license() -> impl Strategy<Value = License> {
    (
        (0u32..400, 0usize..4, 0usize..6, 0usize..7),
        (
            prop_oneof![Just(-1i64), 1i64..5],
            proptest::option::of(-3i64..3),
            0i64..4,
        ),
        (0u32..3, any::<bool>()),
    )
        .prop_map(|((k, p, c, s), (limit, exp, created), (ns, ever))| {
            let (pids, cids, _, _) = names_fixture();
            let mut l = license(LicenseStatus::ALL[s], limit, &[]);
            l.key = LicenseKey::parse(&format!(
                "K{}-{:03}",
                ["ab", "AB", "x"][(k % 3) as usize],
                k
            ))
            .unwrap();
            l.product_id = pids[p];
            l.customer_id = cids.get(c).copied();
            l.activation_limit = ActivationLimit::new(limit).unwrap();
            let base = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
            l.expires_at = exp.map(|d| {
                base + chrono::Duration::days(d) + chrono::Duration::nanoseconds(i64::from(ns))
            });
            l.created_at = base
                + chrono::Duration::hours(created)
                + chrono::Duration::nanoseconds(i64::from(ns * 7));
            l.ever_activated = ever;
            l
        })
}

/// A random query over the same domains.
fn arb_query() -> impl Strategy<Value = LicenseQuery> {
    let sorts = [
        SortField::Key,
        SortField::Product,
        SortField::Customer,
        SortField::Status,
        SortField::Activations,
        SortField::Expires,
        SortField::Created,
    ];
    (
        proptest::option::of(prop_oneof![
            Just("ab"),
            Just("AL"),
            Just("zed"),
            Just(" x "),
            Just("@cd"),
            Just("q")
        ]),
        (
            proptest::option::of(0usize..4),
            proptest::option::of(0usize..6),
            proptest::option::of(0usize..7),
        ),
        (0usize..7, any::<bool>(), 1u32..6, 1u32..40),
        (
            proptest::option::of(-3i64..4),
            proptest::option::of(-3i64..4),
            proptest::option::of(0i64..5),
        ),
    )
        .prop_map(
            move |(search, (p, c, s), (sort, descending, page, per_page), (ea, eb, ca))| {
                let (pids, cids, _, _) = names_fixture();
                let base = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
                LicenseQuery {
                    expires_after: ea.map(|d| base + chrono::Duration::days(d)),
                    expires_before: eb.map(|d| base + chrono::Duration::days(d)),
                    created_after: ca.map(|h| base + chrono::Duration::hours(h)),
                    search: search.map(str::to_owned),
                    product_id: p.map(|i| pids[i]),
                    customer_id: c.and_then(|i| cids.get(i).copied()),
                    status: s.map(|i| LicenseStatus::ALL[i]),
                    sort: sorts[sort],
                    descending,
                    page,
                    per_page,
                }
            },
        )
}

/// The reference: the listing's own `apply` over full summaries.
fn reference(
    all: &HashMap<LicenseKey, LicenseSummary>,
    q: &LicenseQuery,
    products: &HashMap<Uuid, Product>,
    customers: &HashMap<Uuid, Customer>,
) -> (Vec<LicenseSummary>, u64) {
    let page = q.apply(all.values().collect(), products, customers);
    (page.items.into_iter().cloned().collect(), page.total)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn compact_answers_equal_the_reference(
        ops in proptest::collection::vec((arb_license(), 0u8..10), 0..300),
        queries in proptest::collection::vec(arb_query(), 1..8),
    ) {
        let (_, _, products, customers) = names_fixture();
        let c = Catalog::default();
        let mut model: HashMap<LicenseKey, LicenseSummary> = HashMap::new();
        for (l, op) in &ops {
            if *op == 0 {
                c.remove(Environment::Production, &l.key);
                model.remove(&l.key);
            } else {
                c.upsert(l);
                model.insert(l.key.clone(), LicenseSummary::from(l));
            }
        }
        prop_assert_eq!(c.len(Environment::Production), model.len());
        for q in &queries {
            let got = c.query(Environment::Production, q, &products, &customers);
            let (items, total) = reference(&model, q, &products, &customers);
            prop_assert_eq!(got.total, total);
            prop_assert_eq!(got.items, items, "{:?}", q);
        }
        for key in model.keys() {
            prop_assert!(c.contains(Environment::Production, key));
        }
        for cid in names_fixture().1 {
            let mut got = c.keys_of_customer(Environment::Production, cid);
            got.sort();
            let mut want: Vec<LicenseKey> =
                model.values().filter(|s| s.customer_id == Some(cid)).map(|s| s.key.clone()).collect();
            want.sort();
            prop_assert_eq!(got, want);
        }
    }
}

#[test]
fn tombstones_are_compacted_and_rows_stay_findable() {
    let c = Catalog::default();
    let env = Environment::Production;
    let mut l = license(LicenseStatus::Available, 5, &[]);
    for i in 0..5000 {
        l.key = LicenseKey::parse(&format!("K-{i:05}")).unwrap();
        c.upsert(&l);
    }
    for i in (0..5000).filter(|i| i % 5 != 0) {
        c.remove(env, &LicenseKey::parse(&format!("K-{i:05}")).unwrap());
    }
    assert_eq!(c.len(env), 1000);
    assert!(c.side(env).read().shelf.rows() < 5000, "compacted");
    assert!(c.contains(env, &LicenseKey::parse("K-00005").unwrap()));
    assert!(!c.contains(env, &LicenseKey::parse("K-00006").unwrap()));
    l.key = LicenseKey::parse("K-00006").unwrap();
    c.upsert(&l);
    let q = LicenseQuery {
        sort: SortField::Key,
        descending: false,
        per_page: 3,
        ..LicenseQuery::default()
    };
    let page = production_page(&c, &q);
    let keys: Vec<&str> = page.items.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(keys, ["K-00000", "K-00005", "K-00006"]);
}

#[test]
fn changes_during_the_load_are_kept() {
    let c = Catalog::loading();
    let env = Environment::Production;
    let at = |k: &str| LicenseKey::parse(k).unwrap();
    let mut old = license(LicenseStatus::Available, 5, &[]);
    old.key = at("A-1");
    let mut newer = old.clone();
    newer.status = LicenseStatus::Revoked;
    let mut deleted = old.clone();
    deleted.key = at("A-2");
    let mut other = old.clone();
    other.key = at("A-3");
    assert!(!c.is_ready());
    assert!(
        c.contains(env, &at("NOT-LOADED-YET")),
        "unknown while loading"
    );
    // Live changes first, then the load brings older copies of the same keys.
    c.upsert(&newer);
    c.upsert(&deleted);
    c.remove(env, &deleted.key);
    c.load_batch(env, &[old.clone(), deleted.clone(), other.clone()]);
    assert_eq!(c.progress(env).map(|p| p.loaded), Some(3));
    c.finish(env);
    assert!(!c.is_ready(), "staging still loading");
    c.finish(Environment::Staging);
    assert!(c.is_ready());
    assert_eq!(c.progress(env), None);
    let page = production_page(&c, &LicenseQuery::default());
    let mut got: Vec<(String, LicenseStatus)> = page
        .items
        .iter()
        .map(|s| (s.key.as_str().to_owned(), s.status))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("A-1".to_owned(), LicenseStatus::Revoked),
            ("A-3".to_owned(), LicenseStatus::Available)
        ]
    );
    assert!(!c.contains(env, &at("NOT-LOADED-YET")), "known once loaded");
    assert!(!c.contains(env, &deleted.key));
}

#[tokio::test]
async fn wait_ready_returns_once_both_environments_are_loaded() {
    let c = std::sync::Arc::new(Catalog::loading());
    let waiter = tokio::spawn({
        let c = c.clone();
        async move { c.wait_ready().await }
    });
    c.finish(Environment::Production);
    c.finish(Environment::Staging);
    tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
        .await
        .expect("ready")
        .unwrap();
}
