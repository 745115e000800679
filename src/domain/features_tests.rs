use super::*;
use serde_json::json;

fn def(key: &str, kind: FeatureKind, default: Value) -> FeatureDef {
    FeatureDef {
        key: key.into(),
        label: format!("Label of {key}"),
        kind,
        default,
        description: String::new(),
    }
}

fn flags(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

#[test]
fn kinds_admit_exactly_their_json_type() {
    let values = [
        json!(true),
        json!(3),
        json!(2.5),
        json!("x"),
        json!(null),
        json!([1]),
        json!({}),
    ];
    let table: [(FeatureKind, [bool; 7]); 3] = [
        (
            FeatureKind::Boolean,
            [true, false, false, false, false, false, false],
        ),
        (
            FeatureKind::Number,
            [false, true, true, false, false, false, false],
        ),
        (
            FeatureKind::String,
            [false, false, false, true, false, false, false],
        ),
    ];
    for (kind, want) in table {
        for (v, w) in values.iter().zip(want) {
            assert_eq!(kind.admits(v), w, "{kind:?} admits {v}");
        }
    }
}

#[test]
fn form_text_becomes_a_typed_value() {
    let cases: [(FeatureKind, &str, Result<Value, ()>); 9] = [
        (FeatureKind::Boolean, "true", Ok(json!(true))),
        (FeatureKind::Boolean, "", Ok(json!(false))),
        (FeatureKind::Boolean, "maybe", Err(())),
        (FeatureKind::Number, "10", Ok(json!(10))),
        (FeatureKind::Number, "2.5", Ok(json!(2.5))),
        (FeatureKind::Number, "ten", Err(())),
        (FeatureKind::Number, "", Ok(json!(0))),
        (FeatureKind::String, " gold ", Ok(json!("gold"))),
        (FeatureKind::String, "", Ok(json!(""))),
    ];
    for (kind, text, want) in cases {
        assert_eq!(
            kind.value_from_text(text).map_err(|_| ()),
            want,
            "{kind:?} {text:?}"
        );
    }
    for k in FeatureKind::ALL {
        assert_eq!(FeatureKind::parse(k.as_str()), Some(k));
    }
    assert_eq!(FeatureKind::parse("bool"), None);
}

#[test]
fn definitions_are_checked() {
    let good = def("max_users", FeatureKind::Number, json!(5));
    assert!(check_definitions(std::slice::from_ref(&good)).is_ok());
    assert!(check_definitions(&[]).is_ok());
    let bad: Vec<(Vec<FeatureDef>, &str)> = vec![
        (
            vec![def("", FeatureKind::Boolean, json!(true))],
            "must be 1",
        ),
        (
            vec![def("Max Users", FeatureKind::Boolean, json!(true))],
            "a-z",
        ),
        (
            vec![def(&"k".repeat(65), FeatureKind::Boolean, json!(true))],
            "a-z",
        ),
        (vec![good.clone(), good.clone()], "twice"),
        (
            vec![def("pro", FeatureKind::Boolean, json!("yes"))],
            "must be a boolean",
        ),
        (
            vec![FeatureDef {
                label: " ".into(),
                ..good.clone()
            }],
            "label",
        ),
        (
            vec![FeatureDef {
                description: "d".repeat(501),
                ..good.clone()
            }],
            "description",
        ),
        (
            (0..51)
                .map(|i| def(&format!("f{i}"), FeatureKind::Boolean, json!(false)))
                .collect(),
            "at most 50",
        ),
    ];
    for (defs, want) in bad {
        let e = check_definitions(&defs).unwrap_err();
        assert!(e.contains(want), "{e} should contain {want}");
    }
}

#[test]
fn flags_follow_the_definitions_when_there_are_some() {
    let defs = [
        def("pro", FeatureKind::Boolean, json!(false)),
        def("seats", FeatureKind::Number, json!(1)),
        def("tier", FeatureKind::String, json!("basic")),
    ];
    let cases: [(Value, Result<(), &str>); 6] = [
        (json!({}), Ok(())),
        (json!({"pro": true, "seats": 10, "tier": "gold"}), Ok(())),
        (json!({"pro": "true"}), Err("must be a boolean")),
        (json!({"seats": "10"}), Err("must be a number")),
        (json!({"tier": 3}), Err("must be a string")),
        (json!({"prp": true}), Err("not a feature of this product")),
    ];
    for (f, want) in cases {
        match (check_flags(&defs, &flags(f.clone())), want) {
            (Ok(()), Ok(())) => {}
            (Err(e), Err(w)) => assert!(e.contains(w), "{f}: {e}"),
            (got, want) => panic!("{f}: got {got:?}, want {want:?}"),
        }
    }
    // No definitions: anything goes, as before definitions existed.
    assert!(check_flags(&[], &flags(json!({"anything": [1, 2]}))).is_ok());
}

#[test]
fn defaults_fill_only_what_is_missing_and_labels_are_shown() {
    let defs = [
        def("pro", FeatureKind::Boolean, json!(false)),
        def("seats", FeatureKind::Number, json!(1)),
    ];
    let got = with_defaults(&defs, &flags(json!({"pro": true})));
    assert_eq!(Value::Object(got.clone()), json!({"pro": true, "seats": 1}));
    let shown = labelled(
        &defs,
        &flags(json!({"pro": true, "seats": 3, "extra": "x"})),
    );
    assert!(shown.contains(&("Label of pro".into(), "yes".into())));
    assert!(shown.contains(&("Label of seats".into(), "3".into())));
    assert!(shown.contains(&("extra".into(), "x".into())));
}

#[test]
fn a_definition_round_trips_with_the_type_field_named_type() {
    let d = def("pro", FeatureKind::Boolean, json!(true));
    let v = serde_json::to_value(&d).unwrap();
    assert_eq!(v["type"], "boolean");
    let back: FeatureDef = serde_json::from_value(
        json!({"key": "pro", "label": "Pro", "type": "boolean", "default": true}),
    )
    .unwrap();
    assert_eq!(back.description, "");
}
