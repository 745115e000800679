use super::*;

fn one(body: &str) -> Result<RawRow, String> {
    let file = format!("key,product,customer_email,activation_limit,expires_at\n{body}\n");
    let (mut rows, mut problems) = read(file.as_bytes(), 10).expect("readable");
    match (rows.pop(), problems.pop()) {
        (Some(r), None) => Ok(r),
        (None, Some(p)) => Err(p.message),
        other => panic!("one row expected: {other:?}"),
    }
}

#[test]
fn cells_are_read_or_refused_with_the_reason() {
    let ok = one("K-1,Pro,Ann@Example.com,3,2031-02-03").unwrap();
    assert_eq!(ok.line, 2);
    assert_eq!(ok.key.unwrap().as_str(), "K-1");
    assert_eq!(ok.product, "Pro");
    assert_eq!(ok.owner_email.as_deref(), Some("ann@example.com"));
    assert_eq!(ok.activation_limit, Some(ActivationLimit::new(3).unwrap()));
    assert_eq!(
        ok.expires_at.unwrap().to_rfc3339(),
        "2031-02-03T23:59:59+00:00"
    );

    let table: [(&str, Result<(), &str>); 12] = [
        (",Pro,,,", Ok(())),
        (",Pro,,unlimited,lifetime", Ok(())),
        (",Pro,,-1,2031-02-03T10:00:00+02:00", Ok(())),
        ("'-dash,Pro,,,", Ok(())),
        (",,,,", Err("blank")),
        (",,a@b.co,,", Err("product is empty")),
        ("bad key!,Pro,,,", Err("invalid character")),
        (",Pro,not-an-email,,", Err("customer email")),
        (",Pro,,0,", Err("activation limit")),
        (",Pro,,many,", Err("not a number")),
        (",Pro,,,31/12/2030", Err("is not a date")),
        (",Pro,,,,extra", Err("6 cells where the header has 5")),
    ];
    for (body, want) in table {
        match (one_or_blank(body), want) {
            (None, Err("blank")) => {}
            (Some(Ok(_)), Ok(())) => {}
            (Some(Err(m)), Err(part)) => assert!(m.contains(part), "{body}: {m}"),
            (got, _) => panic!("{body}: {got:?} but wanted {want:?}"),
        }
    }
}

fn one_or_blank(body: &str) -> Option<Result<RawRow, String>> {
    let file =
        format!("key,product,customer_email,activation_limit,expires_at\n{body}\nK-9,Pro,,,\n");
    let (rows, problems) = read(file.as_bytes(), 10).unwrap();
    if rows.len() + problems.len() == 1 {
        return None;
    }
    Some(one(body))
}

#[test]
fn a_row_with_several_faults_names_each() {
    let m = one("bad key!,,x,0,soon").unwrap_err();
    for part in [
        "invalid character",
        "customer email",
        "activation limit",
        "expiry",
        "product is empty",
    ] {
        assert!(m.contains(part), "{m}");
    }
}

#[test]
fn the_export_reads_back_and_unknown_columns_refuse_the_file() {
    let export = "key,product,customer_email,customer_name,status,activation_limit,activations_in_use,expires_at,created_at\n\
                  K-1,Pro,a@b.co,Ann,active,unlimited,2,lifetime,2026-01-01T00:00:00+00:00\n";
    let (rows, problems) = read(export.as_bytes(), 10).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(rows[0].activation_limit, Some(ActivationLimit::UNLIMITED));
    assert_eq!(rows[0].expires_at, None);

    let e = read(b"key,product,colour\nK,P,red\n", 10).unwrap_err();
    assert_eq!(e, ImportError::UnknownColumns("“colour”".into()));
    assert_eq!(
        read(b"key,email\nK,a@b.co\n", 10).unwrap_err(),
        ImportError::NoProduct
    );
    assert_eq!(read(b"", 10).unwrap_err(), ImportError::Empty);
    assert_eq!(read(b"product\n\n\n", 10).unwrap_err(), ImportError::Empty);
    assert_eq!(
        read(b"\xEF\xBB\xBFProduct\nA\nB\nC\n", 2).unwrap_err(),
        ImportError::TooManyRows(2)
    );
    let (rows, _) = read(b"\xEF\xBB\xBF Product \nA\n", 2).unwrap();
    assert_eq!(rows[0].product, "A");
    // A spreadsheet's trailing comma names no column: ignored, not refused.
    let (rows, problems) = read(b"product,key,\nA,K-1,\n", 2).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(rows[0].key.as_ref().unwrap().as_str(), "K-1");
}
