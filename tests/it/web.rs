//! A cookie-keeping HTTP client for the portals: signs in, follows nothing
//! automatically, and reads CSRF tokens out of pages.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::helpers::{Resp, Server, ADMIN_EMAIL, ADMIN_PASSWORD};

/// One browser-like session (cookies only).
pub struct Web {
    pub base: String,
    agent: ureq::Agent,
    pub cookies: Mutex<BTreeMap<String, String>>,
    /// Every Set-Cookie line seen, for attribute checks.
    pub set_cookies: Mutex<Vec<String>>,
    /// "/admin" or "/portal".
    pub prefix: &'static str,
}

/// The value of the first `name="…" value="…"` input with that name.
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// Undoes askama's HTML escaping (named and numeric entities).
pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest.find(';').filter(|e| *e <= 8) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..end];
        let ch = match entity {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "amp" => Some('&'),
            "apos" => Some('\''),
            e if e.starts_with("#x") => u32::from_str_radix(&e[2..], 16)
                .ok()
                .and_then(char::from_u32),
            e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match ch {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

impl Web {
    pub fn new(s: &Server) -> Web {
        Web {
            base: s.base.clone(),
            agent: ureq::AgentBuilder::new().redirects(0).build(),
            cookies: Mutex::new(BTreeMap::new()),
            set_cookies: Mutex::new(Vec::new()),
            prefix: "/admin",
        }
    }

    /// A session of the customer portal (not signed in yet).
    pub fn portal(s: &Server) -> Web {
        Web {
            prefix: "/portal",
            ..Web::new(s)
        }
    }

    /// Signs a customer in.
    pub fn customer(s: &Server, email: &str, password: &str) -> Web {
        let w = Web::portal(s);
        let r = w.login(email, password);
        assert_eq!(r.status, 303, "customer sign-in failed: {}", r.text());
        w
    }

    /// Signs in as the test server's first admin.
    pub fn admin(s: &Server) -> Web {
        let w = Web::new(s);
        let r = w.login(ADMIN_EMAIL, ADMIN_PASSWORD);
        assert_eq!(r.status, 303, "sign-in failed: {}", r.text());
        w
    }

    pub fn login(&self, email: &str, password: &str) -> Resp {
        let page = self.get(&format!("{}/login", self.prefix));
        assert_eq!(page.status, 200);
        let csrf = input_value(&page.text(), "csrf").expect("login form has a csrf field");
        self.post(
            &format!("{}/login", self.prefix),
            &[
                ("csrf", &csrf),
                ("email", email),
                ("password", password),
                ("next", self.prefix),
            ],
        )
    }

    /// The session's cookies as one `Cookie` header.
    pub fn cookie_header(&self) -> String {
        self.cookies
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&self, r: ureq::Response) -> Resp {
        for line in r.all("set-cookie") {
            self.set_cookies.lock().unwrap().push(line.to_owned());
            let first = line.split(';').next().unwrap_or("");
            if let Some((k, v)) = first.split_once('=') {
                let removed = line.to_ascii_lowercase().contains("max-age=0") || v.is_empty();
                let mut jar = self.cookies.lock().unwrap();
                if removed {
                    jar.remove(k.trim());
                } else {
                    jar.insert(k.trim().to_owned(), v.trim().to_owned());
                }
            }
        }
        super::helpers::into_resp(r)
    }

    fn send(&self, req: ureq::Request, form: Option<&[(&str, &str)]>) -> Resp {
        let req = req.set("cookie", &self.cookie_header());
        let result = match form {
            Some(f) => req.send_form(f),
            None => req.call(),
        };
        match result {
            Ok(r) => self.keep(r),
            Err(ureq::Error::Status(_, r)) => self.keep(r),
            Err(e) => panic!("transport error: {e}"),
        }
    }

    pub fn get(&self, path: &str) -> Resp {
        self.send(self.agent.get(&format!("{}{path}", self.base)), None)
    }

    pub fn post(&self, path: &str, form: &[(&str, &str)]) -> Resp {
        self.send(self.agent.post(&format!("{}{path}", self.base)), Some(form))
    }

    /// Posts raw bytes (a multipart upload).
    pub fn post_bytes(&self, path: &str, content_type: &str, bytes: &[u8]) -> Resp {
        let req = self
            .agent
            .post(&format!("{}{path}", self.base))
            .set("cookie", &self.cookie_header())
            .set("content-type", content_type);
        match req.send_bytes(bytes) {
            Ok(r) => self.keep(r),
            Err(ureq::Error::Status(_, r)) => self.keep(r),
            Err(e) => panic!("transport error: {e}"),
        }
    }

    /// The session's CSRF token, read from a page.
    pub fn csrf(&self) -> String {
        let page = self.get(if self.prefix == "/portal" {
            "/portal/profile"
        } else {
            "/admin/settings"
        });
        assert_eq!(page.status, 200, "{}", page.text());
        input_value(&page.text(), "csrf").expect("page has a csrf field")
    }

    /// Posts a form with the session's CSRF token added.
    pub fn submit(&self, path: &str, form: &[(&str, &str)]) -> Resp {
        let csrf = self.csrf();
        let mut f: Vec<(&str, &str)> = form.to_vec();
        f.push(("csrf", &csrf));
        self.post(path, &f)
    }
}

/// A multipart/form-data body: text fields, then one file.
pub fn multipart(fields: &[(&str, &str)], file: (&str, &[u8])) -> (String, Vec<u8>) {
    let boundary = "----keywarden-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\nContent-Type: application/octet-stream\r\n\r\n",
            file.0
        )
        .as_bytes(),
    );
    body.extend_from_slice(file.1);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// The mails in a server's outbox (the store's, read through the admin API),
/// oldest first, each with the body its recipient got (the outbox keeps tokens
/// masked, as `outbox_body`; without SMTP the unmasked copy is delivered to the
/// sending node's `outbox/mailbox/` folder, named by the mail's id).
pub fn mails(s: &Server) -> Vec<serde_json::Value> {
    let (st, list) = s.admin("GET", "/outbox?limit=1000", None);
    assert_eq!(st, 200, "{list}");
    let mailbox = s.dir.join("outbox").join("mailbox");
    let copies: Vec<std::path::PathBuf> = std::fs::read_dir(&mailbox)
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    let mut out: Vec<serde_json::Value> = list.as_array().cloned().unwrap_or_default();
    out.reverse();
    for m in &mut out {
        let id = format!("-{}.json", m["id"].as_str().unwrap_or_default());
        let copy = copies.iter().find(|p| p.to_string_lossy().ends_with(&id));
        if let Some(bytes) = copy.and_then(|p| std::fs::read(p).ok()) {
            let delivered: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            m["outbox_body"] = m["body"].clone();
            m["body"] = delivered["body"].clone();
        }
    }
    out
}

/// The first link in a mail body that starts with `base`.
pub fn link_in(body: &str, base: &str) -> String {
    let start = body
        .find(base)
        .unwrap_or_else(|| panic!("no link to {base} in {body}"));
    body[start..].split_whitespace().next().unwrap().to_owned()
}
