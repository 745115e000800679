//! One conformance suite, generic over `Store`, run against the embedded store and
//! against a real CQL node (`KEYWARDEN_TEST_CQL`, started by scripts/test).

use std::sync::Arc;

use chrono::{Duration, Utc};
use keywarden::app::directory::{migrate_legacy, AdminDirectory, DirectoryError, ADMINS_SECRET};
use keywarden::domain::admin::AdminRuleError;
use keywarden::domain::{
    Action, Activation, ActivationKind, AdminUser, AuditEntry, Customer, EnvSettings, Environment,
    Generator, Identifier, License, LicenseKey, LicenseStatus, Product, Role,
};
use keywarden::store::{
    AuditCursor, AuditQuery, DayCounts, LicenseQuery, LicenseWrite, SeenAt, SortField, Store,
    StoreError,
};
use uuid::Uuid;

use crate::cql::cql_store;

/// What `scan_licenses` handed over.
#[derive(Default)]
struct Collected {
    expected: Option<u64>,
    licenses: Vec<License>,
}

impl keywarden::store::LicenseSink for Collected {
    fn expect(&mut self, total: u64) {
        self.expected = Some(total);
    }
    fn batch(&mut self, licenses: Vec<License>) {
        self.licenses.extend(licenses);
    }
}

fn fresh_license(product: Uuid, customer: Option<Uuid>, n: usize) -> License {
    let now = Utc::now();
    License {
        key: LicenseKey::parse(&format!(
            "CONF-{}-{n:04}",
            &Uuid::new_v4().simple().to_string()[..12]
        ))
        .unwrap(),
        environment: Environment::Production,
        product_id: product,
        generator_id: None,
        customer_id: customer,
        status: if customer.is_some() {
            LicenseStatus::Assigned
        } else {
            LicenseStatus::Available
        },
        activation_limit: keywarden::domain::ActivationLimit::new(3).unwrap(),
        expires_at: Some(now + Duration::days(n as i64 + 1)),
        validity_days: None,
        feature_flags: Default::default(),
        metadata: Default::default(),
        ever_activated: false,
        flagged: false,
        abuse_case: None,
        version: 1,
        created_at: now + Duration::milliseconds(n as i64),
        updated_at: now,
        activations: Vec::new(),
        eligibility: Default::default(),
    }
}

/// Every operation of the trait, with the answers both backends must give.
async fn conformance(store: Arc<dyn Store>) {
    let env = Environment::Production;
    let now = Utc::now();
    let tag = Uuid::new_v4().simple().to_string();

    // Secrets: the first value is kept; put overwrites.
    let name = format!("test.{tag}");
    assert_eq!(
        store.put_secret_if_absent(&name, b"one").await.unwrap(),
        b"one"
    );
    assert_eq!(
        store.put_secret_if_absent(&name, b"two").await.unwrap(),
        b"one"
    );
    store.put_secret(&name, b"three").await.unwrap();
    assert_eq!(store.get_secret(&name).await.unwrap().unwrap(), b"three");
    // A swap happens only from the value it expects.
    assert!(!store.swap_secret(&name, b"two", b"four").await.unwrap());
    assert_eq!(store.get_secret(&name).await.unwrap().unwrap(), b"three");
    assert!(store.swap_secret(&name, b"three", b"four").await.unwrap());
    assert_eq!(store.get_secret(&name).await.unwrap().unwrap(), b"four");
    assert!(!store
        .swap_secret(&format!("absent.{tag}"), b"x", b"y")
        .await
        .unwrap());
    assert_eq!(
        store.get_secret(&format!("none.{tag}")).await.unwrap(),
        None
    );

    // Settings.
    let s = EnvSettings {
        grace_period_days: 3,
        abuse: Default::default(),
        reauth_preview: true,
        mail_key_on_assign: false,
        security_alerts_mandatory: true,
        admin_two_factor_required: true,
    };
    store.put_settings(Environment::Staging, &s).await.unwrap();
    assert_eq!(
        store.get_settings(Environment::Staging).await.unwrap(),
        Some(s)
    );

    // Customers: unique email.
    let c = Customer::new(format!("{tag}@example.com"), "Conf Ormance".into(), now);
    store.insert_customer(&c).await.unwrap();
    let dup = Customer {
        id: Uuid::new_v4(),
        ..c.clone()
    };
    assert!(matches!(
        store.insert_customer(&dup).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.get_customer(c.id).await.unwrap().unwrap().email,
        c.email
    );
    let renamed = Customer {
        name: "Renamed".into(),
        ..c.clone()
    };
    store.update_customer(&renamed).await.unwrap();
    assert_eq!(
        store.get_customer(c.id).await.unwrap().unwrap().name,
        "Renamed"
    );
    assert!(matches!(
        store.update_customer(&dup).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        store
            .get_customer_by_email(&c.email)
            .await
            .unwrap()
            .unwrap()
            .id,
        c.id
    );
    assert!(store
        .list_customers()
        .await
        .unwrap()
        .iter()
        .any(|x| x.id == c.id));
    // Email change moves the index; a taken email changes nothing; delete frees it.
    let other = Customer::new(format!("{tag}-other@example.com"), "Other".into(), now);
    store.insert_customer(&other).await.unwrap();
    let moved = Customer {
        email: format!("{tag}-moved@example.com"),
        ..renamed.clone()
    };
    store.change_customer_email(&moved, &c.email).await.unwrap();
    assert!(store
        .get_customer_by_email(&c.email)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store
            .get_customer_by_email(&moved.email)
            .await
            .unwrap()
            .unwrap()
            .id,
        c.id
    );
    let taken = Customer {
        email: other.email.clone(),
        ..moved.clone()
    };
    assert!(matches!(
        store.change_customer_email(&taken, &moved.email).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.get_customer(c.id).await.unwrap().unwrap().email,
        moved.email
    );
    assert_eq!(
        store
            .get_customer_by_email(&other.email)
            .await
            .unwrap()
            .unwrap()
            .id,
        other.id
    );
    store.delete_customer(&other).await.unwrap();
    assert!(store.get_customer(other.id).await.unwrap().is_none());
    assert!(store
        .get_customer_by_email(&other.email)
        .await
        .unwrap()
        .is_none());
    assert!(matches!(
        store.delete_customer(&other).await,
        Err(StoreError::NotFound(_))
    ));
    let again = Customer::new(other.email.clone(), "Again".into(), now);
    store.insert_customer(&again).await.unwrap();

    // Products and generators.
    let p = Product {
        id: Uuid::new_v4(),
        environment: env,
        name: format!("Conformance {tag}"),
        description: String::new(),
        active: true,
        default_generator_id: None,
        created_at: now,
        features: Vec::new(),
        renew_url: "https://store.example.com/renew".into(),
        buy_url: String::new(),
    };
    store
        .put_product(
            env,
            &p,
            &AuditEntry::new("test", "product.created", None, now),
        )
        .await
        .unwrap();
    assert_eq!(
        store.get_product(env, p.id).await.unwrap().unwrap().name,
        p.name
    );
    assert!(store
        .list_products(env)
        .await
        .unwrap()
        .iter()
        .any(|x| x.id == p.id));
    assert_eq!(
        store.get_product(Environment::Staging, p.id).await.unwrap(),
        None,
        "environments are isolated"
    );
    let g = Generator {
        id: Uuid::new_v4(),
        environment: env,
        product_id: p.id,
        name: "Gen".into(),
        format: Default::default(),
        activation_limit: Default::default(),
        validity_days: Some(30),
        feature_flags: Default::default(),
        created_at: now,
    };
    store.put_generator(env, &g).await.unwrap();
    assert_eq!(
        store
            .get_generator(env, g.id)
            .await
            .unwrap()
            .unwrap()
            .validity_days,
        Some(30)
    );
    assert!(store
        .list_generators(env)
        .await
        .unwrap()
        .iter()
        .any(|x| x.id == g.id));

    // Licenses: insert, all or nothing.
    let ls: Vec<License> = (0..5)
        .map(|i| fresh_license(p.id, if i % 2 == 0 { Some(c.id) } else { None }, i))
        .collect();
    let audits: Vec<AuditEntry> = ls
        .iter()
        .map(|l| AuditEntry::new("test", "license.created", Some(l.key.as_str()), now))
        .collect();
    store.insert_licenses(env, &ls, &audits).await.unwrap();
    let newcomer = fresh_license(p.id, None, 9);
    let clash = vec![newcomer.clone(), ls[0].clone()];
    assert!(matches!(
        store.insert_licenses(env, &clash, &[]).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.get_license(env, &newcomer.key).await.unwrap(),
        None,
        "a failed insert writes nothing"
    );
    let got = store.get_license(env, &ls[0].key).await.unwrap().unwrap();
    assert_eq!(got.status, LicenseStatus::Assigned);
    assert_eq!(got.version, 1);
    assert_eq!(
        store
            .get_license(Environment::Staging, &ls[0].key)
            .await
            .unwrap(),
        None
    );

    // Compare and set: an activation commits with the right version only.
    let mut next = got.clone();
    let a = Activation::new(
        Identifier::parse("conf-device").unwrap(),
        ActivationKind::Domain,
        now,
        Some("192.0.2.1".into()),
    );
    next.activations.push(a.clone());
    next.apply(Action::Activate, now).unwrap();
    let entry = AuditEntry::new(
        "client",
        "activation.created",
        Some(next.key.as_str()),
        now + Duration::milliseconds(10),
    )
    .change("assigned", "active");
    store
        .update_license(
            env,
            LicenseWrite {
                license: &next,
                expected_version: 1,
                touched: std::slice::from_ref(&a),
                audit: &entry,
            },
        )
        .await
        .unwrap();
    let stale = store
        .update_license(
            env,
            LicenseWrite {
                license: &next,
                expected_version: 1,
                touched: &[],
                audit: &entry,
            },
        )
        .await;
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
    let got = store.get_license(env, &ls[0].key).await.unwrap().unwrap();
    assert_eq!(got.status, LicenseStatus::Active);
    assert_eq!(got.version, 2);
    assert_eq!(got.activations.len(), 1);
    assert_eq!(got.activations[0].kind, ActivationKind::Domain);

    // Heartbeat write-behind.
    let seen = now + Duration::seconds(5);
    store
        .touch_last_seen(
            env,
            &[SeenAt {
                key: got.key.clone(),
                identifier: a.identifier.clone(),
                at: seen,
            }],
        )
        .await
        .unwrap();
    let got = store.get_license(env, &ls[0].key).await.unwrap().unwrap();
    assert_eq!(
        got.activations[0].last_seen.map(|t| t.timestamp_millis()),
        Some(seen.timestamp_millis())
    );
    assert_eq!(got.version, 2, "last_seen is not a state change");

    // Listing: filter, search, sort, paging.
    let q = |f: &dyn Fn(&mut LicenseQuery)| {
        let mut q = LicenseQuery {
            product_id: Some(p.id),
            per_page: 2,
            ..Default::default()
        };
        f(&mut q);
        q
    };
    let page = store.list_licenses(env, &q(&|_| {})).await.unwrap();
    assert_eq!((page.total, page.items.len()), (5, 2));
    let page3 = store.list_licenses(env, &q(&|q| q.page = 3)).await.unwrap();
    assert_eq!(page3.items.len(), 1);
    let avail = store
        .list_licenses(env, &q(&|q| q.status = Some(LicenseStatus::Available)))
        .await
        .unwrap();
    assert_eq!(avail.total, 2);
    let by_email = store
        .list_licenses(env, &q(&|q| q.search = Some(tag[..10].to_string())))
        .await
        .unwrap();
    assert_eq!(
        by_email.total, 5,
        "search matches the product name and the customer email"
    );
    let sorted = store
        .list_licenses(
            env,
            &q(&|q| {
                q.sort = SortField::Expires;
                q.descending = false;
                q.per_page = 10;
            }),
        )
        .await
        .unwrap();
    let exp: Vec<_> = sorted.items.iter().map(|l| l.expires_at).collect();
    let mut want = exp.clone();
    want.sort();
    assert_eq!(exp, want);
    let key_part = &ls[3].key.as_str()[5..15];
    let found = store
        .list_licenses(env, &q(&|q| q.search = Some(key_part.to_lowercase())))
        .await
        .unwrap();
    assert_eq!(
        found.items[0].key, ls[3].key,
        "partial key search is case-insensitive"
    );

    // Expiry due.
    let mut old = store.get_license(env, &ls[2].key).await.unwrap().unwrap();
    let v = old.version;
    old.expires_at = Some(now - Duration::days(30));
    old.touch(now);
    store
        .update_license(
            env,
            LicenseWrite {
                license: &old,
                expected_version: v,
                touched: &[],
                audit: &AuditEntry::new("test", "license.edited", Some(old.key.as_str()), now),
            },
        )
        .await
        .unwrap();
    let due = store
        .licenses_due_for_expiry(env, now, Duration::days(7))
        .await
        .unwrap();
    assert!(due.contains(&ls[2].key));
    assert!(!due.contains(&ls[0].key));

    // The catalog's scan: every license once, batch by batch, as listed.
    let mut sink = Collected::default();
    store.scan_licenses(env, &mut sink).await.unwrap();
    let listed = store
        .list_licenses(env, &q(&|q| q.per_page = 100_000))
        .await
        .unwrap();
    let mut want: Vec<&str> = listed.items.iter().map(|l| l.key.as_str()).collect();
    // The CQL keyspace is shared with the tests running beside this one: compare
    // this product's licenses (the listing above is filtered to it too).
    let mut got: Vec<&str> = (sink.licenses.iter())
        .filter(|l| l.product_id == p.id)
        .map(|l| l.key.as_str())
        .collect();
    want.sort();
    got.sort();
    assert_eq!(got, want, "every license once");
    let all = sink.licenses.len() as u64;
    assert!(
        sink.expected.is_none_or(|n| n == all),
        "the count announced"
    );
    let scanned = sink.licenses.iter().find(|l| l.key == ls[2].key).unwrap();
    assert_eq!(scanned.expires_at, Some(now - Duration::days(30)));

    // Audit: by license, by action, newest first.
    store
        .append_audit(
            env,
            &AuditEntry::new(
                "test",
                "license.suspend",
                Some(ls[0].key.as_str()),
                now + Duration::seconds(1),
            ),
        )
        .await
        .unwrap();
    let entries = store
        .list_audit(
            env,
            &AuditQuery {
                license_key: Some(ls[0].key.to_string()),
                action: None,
                limit: 10,
                ..AuditQuery::default()
            },
        )
        .await
        .unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["license.suspend", "activation.created", "license.created"]
    );
    let only = store
        .list_audit(
            env,
            &AuditQuery {
                license_key: Some(ls[0].key.to_string()),
                action: Some("license.created".into()),
                limit: 10,
                ..AuditQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(only.len(), 1);
    let recent = store
        .list_audit(
            env,
            &AuditQuery {
                license_key: None,
                action: Some("license.suspend".into()),
                limit: 1000,
                ..AuditQuery::default()
            },
        )
        .await
        .unwrap();
    assert!(recent
        .iter()
        .any(|e| e.license_key.as_deref() == Some(ls[0].key.as_str())));

    // Traffic counts add up per hour and environment, and read back by range.
    let hour = (now + Duration::days(400))
        .naive_utc()
        .date()
        .and_hms_opt(3, 0, 0)
        .unwrap();
    let c = |a, v, f| DayCounts {
        activations: a,
        validations: v,
        failed_validations: f,
    };
    store.add_counts(env, hour, c(1, 10, 2)).await.unwrap();
    store.add_counts(env, hour, c(2, 5, 0)).await.unwrap();
    store
        .add_counts(env, hour + Duration::hours(1), c(0, 1, 1))
        .await
        .unwrap();
    store
        .add_counts(Environment::Staging, hour, c(9, 9, 9))
        .await
        .unwrap();
    let read = store
        .read_counts(env, hour, hour + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(
        read,
        vec![(hour, c(3, 15, 2)), (hour + Duration::hours(1), c(0, 1, 1))]
    );
    let only_first = store.read_counts(env, hour, hour).await.unwrap();
    assert_eq!(only_first.len(), 1);

    // Paging by cursor, a date range, an actor, an action family.
    let base = now + Duration::seconds(30);
    let actor = format!("Pager-{tag}@example.com");
    for i in 0..5 {
        let action = if i % 2 == 0 {
            "customer.created"
        } else {
            "customer.updated"
        };
        store
            .append_audit(
                env,
                &AuditEntry::new(actor.clone(), action, None, base + Duration::seconds(i)),
            )
            .await
            .unwrap();
    }
    let who = Some(format!("pager-{tag}"));
    let page = |before: Option<AuditCursor>| AuditQuery {
        actor: who.clone(),
        before,
        limit: 2,
        ..AuditQuery::default()
    };
    let secs = |es: &[AuditEntry]| -> Vec<i64> {
        es.iter().map(|e| (e.at - base).num_seconds()).collect()
    };
    let p1 = store.list_audit(env, &page(None)).await.unwrap();
    assert_eq!(secs(&p1), [4, 3]);
    let p2 = store
        .list_audit(env, &page(Some(AuditCursor::of(&p1[1]))))
        .await
        .unwrap();
    assert_eq!(secs(&p2), [2, 1]);
    let p3 = store
        .list_audit(env, &page(Some(AuditCursor::of(&p2[1]))))
        .await
        .unwrap();
    assert_eq!(secs(&p3), [0]);
    let ranged = AuditQuery {
        actor: who.clone(),
        from: Some(base + Duration::seconds(2)),
        before: Some(AuditCursor::at(base + Duration::seconds(4))),
        limit: 100,
        ..AuditQuery::default()
    };
    assert_eq!(secs(&store.list_audit(env, &ranged).await.unwrap()), [3, 2]);
    let family = AuditQuery {
        actor: who.clone(),
        action: Some("customer.".into()),
        limit: 100,
        ..AuditQuery::default()
    };
    assert_eq!(store.list_audit(env, &family).await.unwrap().len(), 5);
    let exact = AuditQuery {
        action: Some("customer.updated".into()),
        ..family.clone()
    };
    assert_eq!(secs(&store.list_audit(env, &exact).await.unwrap()), [3, 1]);

    // Delete.
    let bye = AuditEntry::new("test", "license.deleted", Some(ls[4].key.as_str()), now);
    assert!(store.delete_license(env, &ls[4].key, &bye).await.unwrap());
    assert!(!store.delete_license(env, &ls[4].key, &bye).await.unwrap());
    assert_eq!(store.get_license(env, &ls[4].key).await.unwrap(), None);
    let page = store
        .list_licenses(env, &q(&|q| q.per_page = 100))
        .await
        .unwrap();
    assert_eq!(page.total, 4);
}

#[actix_rt::test]
async fn the_embedded_store_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let store = keywarden::store::embedded::EmbeddedStore::open(dir.path(), 16).unwrap();
    conformance(Arc::new(store)).await;
}

#[actix_rt::test]
async fn the_cql_store_passes_the_conformance_suite() {
    conformance(cql_store().await).await;
}

/// Security item 5: the license record keeps active activations only; history is
/// rows of its own, newest first, read a page at a time, on both backends.
async fn history_conformance(store: Arc<dyn Store>) {
    let env = Environment::Production;
    let now = Utc::now();
    let product = Uuid::new_v4();
    let mut l = fresh_license(product, Some(Uuid::new_v4()), 1);
    // A record as an older release (or a backup) hands it over: history inside.
    let mut old = Activation::new(
        Identifier::parse("old-device").unwrap(),
        ActivationKind::Hwid,
        now - Duration::days(3),
        None,
    );
    old.status = keywarden::domain::ActivationStatus::Deactivated;
    old.deactivated_at = Some(now - Duration::days(2));
    l.activations.push(old.clone());
    l.ever_activated = true;
    store.insert_licenses(env, &[l.clone()], &[]).await.unwrap();
    let got = store.get_license(env, &l.key).await.unwrap().unwrap();
    assert!(got.activations.is_empty(), "the record holds no history");
    let h = store.activation_history(env, &l.key, 1, 10).await.unwrap();
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].id, old.id);

    // Three activate/deactivate cycles through compare-and-set writes.
    let mut current = got;
    for i in 0..3 {
        let t = now + Duration::seconds(i * 10);
        let mut next = current.clone();
        let a = Activation::new(
            Identifier::parse(&format!("cycle-{i}")).unwrap(),
            ActivationKind::Hwid,
            t,
            None,
        );
        next.activations.push(a.clone());
        next.touch(t);
        let audit = AuditEntry::new("client", "activation.created", Some(l.key.as_str()), t);
        let w = LicenseWrite {
            license: &next,
            expected_version: current.version,
            touched: std::slice::from_ref(&a),
            audit: &audit,
        };
        store.update_license(env, w).await.unwrap();
        current = next;
        let mut next = current.clone();
        let mut gone = next.activations[0].clone();
        gone.status = keywarden::domain::ActivationStatus::Deactivated;
        gone.deactivated_at = Some(t + Duration::seconds(1));
        next.activations.clear();
        next.touch(t);
        let audit = AuditEntry::new("client", "activation.deactivated", Some(l.key.as_str()), t);
        let w = LicenseWrite {
            license: &next,
            expected_version: current.version,
            touched: std::slice::from_ref(&gone),
            audit: &audit,
        };
        store.update_license(env, w).await.unwrap();
        current = store.get_license(env, &l.key).await.unwrap().unwrap();
        assert!(
            current.activations.is_empty(),
            "cycle {i}: record holds active ones only"
        );
    }
    let names = |v: Vec<Activation>| -> Vec<String> {
        v.iter().map(|a| a.identifier.as_str().to_owned()).collect()
    };
    let p1 = store.activation_history(env, &l.key, 1, 2).await.unwrap();
    let p2 = store.activation_history(env, &l.key, 2, 2).await.unwrap();
    let p3 = store.activation_history(env, &l.key, 3, 2).await.unwrap();
    assert_eq!(names(p1), ["cycle-2", "cycle-1"], "newest first");
    assert_eq!(names(p2), ["cycle-0", "old-device"]);
    assert!(p3.is_empty());
    // Deleting the license removes its history.
    let audit = AuditEntry::new("admin", "license.deleted", Some(l.key.as_str()), now);
    assert!(store.delete_license(env, &l.key, &audit).await.unwrap());
    assert!(store
        .activation_history(env, &l.key, 1, 10)
        .await
        .unwrap()
        .is_empty());
}

#[actix_rt::test]
async fn the_embedded_store_keeps_history_out_of_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let store = keywarden::store::embedded::EmbeddedStore::open(dir.path(), 16).unwrap();
    history_conformance(Arc::new(store)).await;
}

#[actix_rt::test]
async fn the_cql_store_keeps_history_out_of_the_record() {
    history_conformance(cql_store().await).await;
}

fn admin_row(email: &str, role: Role) -> AdminUser {
    AdminUser {
        id: Uuid::new_v4(),
        email: email.into(),
        name: email.into(),
        password_hash: "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA".into(),
        role,
        created_at: Utc::now(),
        last_sign_in: None,
        version: 0,
        theme: Default::default(),
        second_factor: None,
    }
}

fn is_conflict<T: std::fmt::Debug>(r: Result<T, StoreError>) -> bool {
    matches!(r, Err(StoreError::Conflict(_)))
}

/// Issue 12 item 4: admin accounts are rows, each written only on the version
/// it was read with, on both backends.
async fn admins_conformance(store: Arc<dyn Store>) {
    let tag = Uuid::new_v4().simple().to_string();
    let a = admin_row(&format!("a.{tag}@x.io"), Role::Full);
    let b = admin_row(&format!("b.{tag}@x.io"), Role::ReadOnly);
    let mine = |store: Arc<dyn Store>| {
        let ids = [a.id, b.id];
        async move {
            let mut v: Vec<AdminUser> = store
                .list_admins()
                .await
                .unwrap()
                .into_iter()
                .filter(|x| ids.contains(&x.id))
                .collect();
            v.sort_by(|x, y| x.email.cmp(&y.email));
            v
        }
    };

    // Put and list: a new row has version 1; inserting the same id again is a conflict.
    let a1 = store.put_admin(&a, None).await.unwrap();
    assert_eq!(a1.version, 1);
    assert!(is_conflict(store.put_admin(&a, None).await));
    let b1 = store.put_admin(&b, None).await.unwrap();
    assert_eq!(mine(store.clone()).await, vec![a1.clone(), b1.clone()]);

    // A change on the current version lands and moves the version.
    let mut renamed = a1.clone();
    renamed.name = "Renamed".into();
    let a2 = store.put_admin(&renamed, Some(1)).await.unwrap();
    assert_eq!(a2.version, 2);
    assert_eq!(a2.name, "Renamed");

    // A stale version (the other node's copy) is a conflict and changes nothing.
    let mut stale = a1.clone();
    stale.name = "Stale".into();
    stale.role = Role::ReadOnly;
    assert!(is_conflict(store.put_admin(&stale, Some(1)).await));
    assert!(is_conflict(store.put_admin(&stale, Some(7)).await));
    assert_eq!(mine(store.clone()).await, vec![a2.clone(), b1.clone()]);
    // A change to a row that is not there is a conflict and creates nothing.
    let ghost = admin_row(&format!("ghost.{tag}@x.io"), Role::Full);
    assert!(is_conflict(store.put_admin(&ghost, Some(1)).await));
    assert!(store
        .list_admins()
        .await
        .unwrap()
        .iter()
        .all(|x| x.id != ghost.id));

    // Delete with a version: a stale one is a conflict and the row stays.
    assert!(is_conflict(store.delete_admin(a.id, 1).await));
    assert_eq!(mine(store.clone()).await.len(), 2);
    store.delete_admin(a.id, 2).await.unwrap();
    assert_eq!(mine(store.clone()).await, vec![b1.clone()]);
    // Deleting it again (gone) is a conflict too.
    assert!(is_conflict(store.delete_admin(a.id, 2).await));
    store.delete_admin(b.id, 1).await.unwrap();
    assert!(mine(store.clone()).await.is_empty());
}

#[actix_rt::test]
async fn the_embedded_store_keeps_admins_as_versioned_rows() {
    let dir = tempfile::tempdir().unwrap();
    let store = keywarden::store::embedded::EmbeddedStore::open(dir.path(), 16).unwrap();
    admins_conformance(Arc::new(store)).await;
}

#[actix_rt::test]
async fn the_cql_store_keeps_admins_as_versioned_rows() {
    admins_conformance(cql_store().await).await;
}

/// An admin as releases before rows encoded it in the `portal.admins` list (no version).
#[derive(serde::Serialize)]
struct LegacyAdmin {
    id: Uuid,
    email: String,
    name: String,
    password_hash: String,
    role: Role,
    created_at: chrono::DateTime<Utc>,
    last_sign_in: Option<chrono::DateTime<Utc>>,
}

/// Writes `admins` as the old one-list secret.
async fn write_legacy_admins(store: &dyn Store, admins: &[AdminUser]) {
    let legacy: Vec<LegacyAdmin> = admins
        .iter()
        .map(|a| LegacyAdmin {
            id: a.id,
            email: a.email.clone(),
            name: a.name.clone(),
            password_hash: a.password_hash.clone(),
            role: a.role,
            created_at: a.created_at,
            last_sign_in: a.last_sign_in,
        })
        .collect();
    store
        .put_secret(ADMINS_SECRET, &rmp_serde::to_vec_named(&legacy).unwrap())
        .await
        .unwrap();
}

/// The legacy list becomes rows at start (two nodes at once, no duplicates, the
/// secret left as it was); then edits are conditional: a stale copy gets the
/// conflict message and the directory reloads; "one full admin" is checked
/// against the fresh rows.
async fn legacy_admins_become_rows(store: Arc<dyn Store>) {
    let a = admin_row("first@x.io", Role::Full);
    let b = admin_row("second@x.io", Role::Full);
    let c = admin_row("third@x.io", Role::ReadOnly);
    write_legacy_admins(store.as_ref(), &[a.clone(), b.clone(), c.clone()]).await;
    let secret = store.get_secret(ADMINS_SECRET).await.unwrap();
    // A node that stopped half-way copied the first admin only.
    store.put_admin(&a, None).await.unwrap();

    // Two nodes start at once (and finish that copy).
    let (n1, n2) = tokio::join!(
        AdminDirectory::load(store.as_ref()),
        AdminDirectory::load(store.as_ref())
    );
    let (n1, n2) = (n1.unwrap(), n2.unwrap());
    let rows = store.list_admins().await.unwrap();
    assert_eq!(rows.len(), 3, "{rows:?}");
    for (dir, name) in [(&n1, "node 1"), (&n2, "node 2")] {
        let mut emails: Vec<String> = dir.all().into_iter().map(|x| x.email).collect();
        emails.sort();
        assert_eq!(
            emails,
            ["first@x.io", "second@x.io", "third@x.io"],
            "{name}"
        );
        let got = dir.by_email("third@x.io").unwrap();
        assert_eq!(got.id, c.id);
        assert_eq!(got.password_hash, c.password_hash);
        assert_eq!(got.role, Role::ReadOnly);
        assert_eq!(got.version, 1);
    }
    assert_eq!(store.get_secret(ADMINS_SECRET).await.unwrap(), secret);
    // A later start copies nothing again.
    assert_eq!(migrate_legacy(store.as_ref()).await.unwrap(), 0);
    let n3 = AdminDirectory::load(store.as_ref()).await.unwrap();
    assert_eq!(n3.all().len(), 3);

    // Node 1 renames the third admin; node 2's copy is stale now.
    let mut on1 = n1.by_id(c.id).unwrap();
    on1.name = "Renamed on node 1".into();
    n1.upsert(store.as_ref(), on1).await.unwrap();
    let mut on2 = n2.by_id(c.id).unwrap();
    on2.name = "Renamed on node 2".into();
    let err = n2.upsert(store.as_ref(), on2).await.unwrap_err();
    assert!(matches!(err, DirectoryError::Conflict), "{err:?}");
    assert_eq!(
        err.to_string(),
        "This admin was changed elsewhere; reload the page and try again."
    );
    // Node 2 reloaded: the next try from the fresh copy lands.
    let fresh = n2.by_id(c.id).unwrap();
    assert_eq!(fresh.name, "Renamed on node 1");
    assert_eq!(fresh.version, 2);
    let mut again = fresh;
    again.name = "Renamed on node 2".into();
    n2.upsert(store.as_ref(), again).await.unwrap();
    // Removing with a stale copy is a conflict too, and removes nothing.
    let err = n1.remove(store.as_ref(), c.id, None).await.unwrap_err();
    assert!(matches!(err, DirectoryError::Conflict), "{err:?}");
    assert_eq!(store.list_admins().await.unwrap().len(), 3);
    n1.remove(store.as_ref(), c.id, None).await.unwrap();
    assert_eq!(store.list_admins().await.unwrap().len(), 2);

    // Node 1 demotes the second admin; node 2, not knowing it, tries to demote
    // the first: the fresh rows show it is the last full admin.
    let mut demoted = n1.by_id(b.id).unwrap();
    demoted.role = Role::ReadOnly;
    n1.upsert(store.as_ref(), demoted).await.unwrap();
    let mut first = n2.by_id(a.id).unwrap();
    first.role = Role::ReadOnly;
    let err = n2.upsert(store.as_ref(), first).await.unwrap_err();
    assert!(
        matches!(err, DirectoryError::Rule(AdminRuleError::LastFullAdmin)),
        "{err:?}"
    );
    let err = n2.remove(store.as_ref(), a.id, None).await.unwrap_err();
    assert!(
        matches!(err, DirectoryError::Rule(AdminRuleError::LastFullAdmin)),
        "{err:?}"
    );
    let rows = store.list_admins().await.unwrap();
    assert!(rows.iter().any(|x| x.id == a.id && x.role == Role::Full));
    // A later start does not bring back the removed admin from the old list.
    let n4 = AdminDirectory::load(store.as_ref()).await.unwrap();
    assert_eq!(n4.all().len(), 2);
    assert!(n4.by_id(c.id).is_none());
}

#[actix_rt::test]
async fn the_embedded_store_copies_the_legacy_admin_list_into_rows() {
    let dir = tempfile::tempdir().unwrap();
    let store = keywarden::store::embedded::EmbeddedStore::open(dir.path(), 16).unwrap();
    legacy_admins_become_rows(Arc::new(store)).await;
}

#[actix_rt::test]
async fn the_cql_store_copies_the_legacy_admin_list_into_rows() {
    let prefix = crate::cql::fresh_prefix().await;
    let store = keywarden::store::cql::CqlStore::open(&crate::cql::settings(&prefix))
        .await
        .expect("CQL store opens");
    legacy_admins_become_rows(Arc::new(store)).await;
}
