//! The activation limit holds under 64 simultaneous activations.

use std::sync::{Arc, Barrier};

use serde_json::json;

use crate::helpers::{activate, Server};

#[test]
fn sixty_four_simultaneous_activations_on_a_limit_of_five_give_exactly_five() {
    let s = Arc::new(Server::start());
    for round in 0..3 {
        let key = s.license("production", 5);
        let barrier = Arc::new(Barrier::new(64));
        let handles: Vec<_> = (0..64)
            .map(|i| {
                let (s, key, barrier) = (s.clone(), key.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    let (st, v) = s.client(
                        "production",
                        "activate",
                        json!({ "key": key, "identifier": format!("dev-{round}-{i}") }),
                    );
                    assert_eq!(st, 200, "{v}");
                    v["code"].as_str().unwrap().to_owned()
                })
            })
            .collect();
        let codes: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let ok = codes.iter().filter(|c| *c == "VALID").count();
        let full = codes.iter().filter(|c| *c == "LIMIT_REACHED").count();
        assert_eq!((ok, full), (5, 59), "round {round}: {codes:?}");
        assert_eq!(s.get_license("production", &key)["activations_in_use"], 5);
    }
}

#[test]
fn a_deactivation_frees_a_slot_at_once() {
    let s = Server::start();
    let key = s.license("production", 2);
    activate(&s, "production", &key, "a");
    activate(&s, "production", &key, "b");
    assert_eq!(
        activate(&s, "production", &key, "c")["code"],
        "LIMIT_REACHED"
    );
    let (_, v) = s.client(
        "production",
        "deactivate",
        json!({ "key": key, "identifier": "a" }),
    );
    assert_eq!(v["code"], "DEACTIVATED");
    assert_eq!(activate(&s, "production", &key, "c")["code"], "VALID");
    // Admin removal (the portal's path) frees a slot too.
    let (st, _) = s.admin(
        "POST",
        &format!("/production/licenses/{key}/deactivate"),
        Some(json!({ "identifier": "b" })),
    );
    assert_eq!(st, 200);
    assert_eq!(activate(&s, "production", &key, "d")["code"], "VALID");
    let l = s.get_license("production", &key);
    let history = l["activations"].as_array().unwrap();
    assert_eq!(history.len(), 4, "deactivated records stay as history");
    assert_eq!(l["activations_in_use"], 2);
}
