//! What every portal page does the same way: render HTML without caching, show
//! a one-time message (a cookie on the portal's path), and redirect after a post.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;
use base64::Engine as _;

use super::session;
use super::PageError;

const FLASH: &str = "kw_flash";

/// One query-string parameter ("" when absent or the query string is malformed).
pub fn query_param(req: &HttpRequest, name: &str) -> String {
    serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
        .unwrap_or_default()
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
        .unwrap_or_default()
}

/// Where to go after signing in: a local path under `home` made of visible
/// ASCII only (no CR/LF, no spaces, no backslashes, no other host), else `home`.
/// Every `next` parameter of both portals goes through here (security item 10).
pub fn safe_next(next: &str, home: &str) -> String {
    let rest = next.strip_prefix(home).unwrap_or("!");
    let local = matches!(rest.bytes().next(), None | Some(b'/' | b'?' | b'#'))
        && !next.contains("://")
        && !next.contains("//")
        && !next.contains('\\')
        && next.len() <= 2048
        && next.bytes().all(|b| (0x21..=0x7e).contains(&b));
    if local {
        next.to_owned()
    } else {
        home.to_owned()
    }
}

/// The one-time message of this request, as (kind, text).
pub fn flash(req: &HttpRequest) -> (String, String) {
    req.cookie(FLASH)
        .and_then(|c| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(c.value())
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.split_once('|').map(|(k, t)| (k.to_owned(), t.to_owned())))
        .filter(|(k, _)| matches!(k.as_str(), "ok" | "error" | "warn"))
        .unwrap_or_default()
}

/// Renders a page of the portal at `path` (and clears a shown message).
pub fn render(
    req: &HttpRequest,
    page: &impl Template,
    path: &'static str,
) -> Result<HttpResponse, PageError> {
    let html = page.render()?;
    let mut resp = HttpResponse::Ok();
    resp.content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"));
    if req.cookie(FLASH).is_some() {
        resp.cookie(session::removal(FLASH, path));
    }
    Ok(resp.body(html))
}

/// Renders a form again with its errors (400, so scripts can tell).
pub fn render_invalid(page: &impl Template) -> Result<HttpResponse, PageError> {
    Ok(HttpResponse::BadRequest()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(page.render()?))
}

/// 303 to `to`, with a message the next page of the portal at `path` shows once.
pub fn redirect(
    req: &HttpRequest,
    to: &str,
    kind: &str,
    text: &str,
    path: &'static str,
) -> HttpResponse {
    let value = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{kind}|{text}"));
    // A target that is not a plain local path (a CR/LF from a parameter, say)
    // goes to the portal's home rather than failing to build the header.
    let to = safe_next(to, path);
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .cookie(session::cookie(req, FLASH, path, value))
        .finish()
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    /// Security item 10: only local paths of the portal are followed.
    #[test]
    fn next_is_a_local_path_or_home() {
        let table = [
            ("/admin/licenses?env=staging", "/admin/licenses?env=staging"),
            ("/admin", "/admin"),
            ("/admin/x\r\nSet-Cookie:%20a=b", "/admin"),
            ("/admin/x\0", "/admin"),
            ("/admin/ x", "/admin"),
            ("//evil.example/admin", "/admin"),
            ("/admin//evil.example", "/admin"),
            ("/admin\\evil.example", "/admin"),
            ("https://evil.example/admin", "/admin"),
            ("/adminx", "/admin"),
            ("/portal", "/admin"),
            ("/admin/é", "/admin"),
            ("", "/admin"),
        ];
        for (next, want) in table {
            assert_eq!(safe_next(next, "/admin"), want, "{next:?}");
        }
    }
}
