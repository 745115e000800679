//! Configuration tests: loading, overrides and the errors that name a key.
#![allow(clippy::result_large_err)] // figment's Jail API returns its own large error.

use super::*;
use figment::Jail;

#[test]
fn the_shipped_default_file_loads() {
    // Inside a Jail: other tests set KEYWARDEN_* variables while they run.
    Jail::expect_with(|_| {
        let s = Settings::load(Some(
            concat!(env!("CARGO_MANIFEST_DIR"), "/config/default.toml").into(),
        ))
        .expect("default config loads");
        assert_eq!(s.licensing.grace_period_days, 7);
        Ok(())
    });
}

#[test]
fn environment_variables_override_the_file() {
    Jail::expect_with(|jail| {
        jail.set_env("KEYWARDEN_ENGINE__HEARTBEAT_FLUSH_MS", "250");
        jail.set_env("KEYWARDEN_ADMIN_TOKEN", "not-a-setting");
        let s = Settings::load(Some("missing.toml".into())).unwrap();
        assert_eq!(s.engine.heartbeat_flush_ms, 250);
        Ok(())
    });
}

#[test]
fn a_bad_value_names_the_key() {
    Jail::expect_with(|jail| {
        jail.set_env("KEYWARDEN_ENGINE__HEARTBEAT_FLUSH_MS", "soon");
        let err = Settings::load(Some("missing.toml".into())).unwrap_err();
        assert!(err.to_string().contains("heartbeat_flush_ms"), "{err}");
        Ok(())
    });
}

/// Security item 1: the public URL comes from configuration and must be an
/// absolute http(s) URL; the old `mail.public_url` still works.
#[test]
fn public_url_must_be_an_absolute_http_url() {
    for bad in [
        "licenses.example.com",
        "ftp://example.com",
        "https://",
        "https://user:pw@example.com",
        "https://example.com/portal",
        "https://example.com/?x=1",
        "javascript:alert(1)",
    ] {
        Jail::expect_with(|jail| {
            jail.set_env("KEYWARDEN_SERVER__PUBLIC_URL", bad);
            let err = Settings::load(Some("missing.toml".into())).unwrap_err();
            assert!(
                err.to_string().contains("server.public_url"),
                "{bad}: {err}"
            );
            Ok(())
        });
    }
    Jail::expect_with(|jail| {
        jail.set_env(
            "KEYWARDEN_MAIL__PUBLIC_URL",
            "https://licenses.example.com/",
        );
        let s = Settings::load(Some("missing.toml".into())).unwrap();
        assert_eq!(s.public_base(), "https://licenses.example.com");
        assert!(s.public_is_https());
        Ok(())
    });
    let mut s = Settings::default();
    assert!(s.fill_public_url("0.0.0.0:8080".parse().unwrap()));
    assert_eq!(s.public_base(), "http://127.0.0.1:8080");
    assert!(!s.fill_public_url("10.0.0.1:1".parse().unwrap()));
}

#[test]
fn an_unknown_key_names_the_key() {
    Jail::expect_with(|jail| {
        jail.create_file("k.toml", "[server]\nlisten = \"127.0.0.1:1\"\nlissen = 3\n")?;
        let err = Settings::load(Some("k.toml".into())).unwrap_err();
        assert!(err.to_string().contains("lissen"), "{err}");
        Ok(())
    });
}
