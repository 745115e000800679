//! `/admin/api/docs`: the OpenAPI document as one readable page, rendered on
//! the server from the same JSON (operations by tag with their parameters,
//! bodies and answers, then every schema with its fields). No script, no CDN.

use actix_web::http::header;
use actix_web::HttpResponse;
use askama::Template;
use serde_json::Value;

/// One operation as the page lists it.
pub struct OpView {
    pub method: String,
    pub path: String,
    pub anchor: String,
    pub summary: String,
    pub params: Vec<(String, String, String, String)>,
    pub body: String,
    pub responses: Vec<(String, String, String)>,
}

/// A tag and its operations.
pub struct TagView {
    pub name: String,
    pub description: String,
    pub ops: Vec<OpView>,
}

/// A schema and its fields (name, type, required, description).
pub struct SchemaView {
    pub name: String,
    pub description: String,
    pub fields: Vec<(String, String, bool, String)>,
    pub shape: String,
}

#[derive(Template)]
#[template(path = "api_docs.html")]
struct DocsPage {
    title: String,
    description: String,
    version: String,
    tags: Vec<TagView>,
    schemas: Vec<SchemaView>,
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// A schema in a few words: `License`, `array of Product`, `string (uuid)`, `"a" | "b"`.
pub fn type_of(s: &Value) -> String {
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        return r.rsplit('/').next().unwrap_or(r).to_owned();
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(list) = s.get(key).and_then(Value::as_array) {
            let parts: Vec<String> = list.iter().map(type_of).collect();
            return parts.join(if key == "allOf" { " & " } else { " | " });
        }
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array) {
        let parts: Vec<String> = e.iter().map(|v| v.to_string()).collect();
        return parts.join(" | ");
    }
    let ty = match s.get("type") {
        Some(Value::Array(list)) => list.iter().map(text).collect::<Vec<_>>().join(" or "),
        Some(v) => text(v),
        None => "any".into(),
    };
    if ty.starts_with("array") {
        if let Some(items) = s.get("items") {
            return format!("{ty} of {}", type_of(items));
        }
    }
    match s.get("format").and_then(Value::as_str) {
        Some(f) => format!("{ty} ({f})"),
        None => ty,
    }
}

fn op_view(method: &str, path: &str, op: &Value) -> OpView {
    let params = op["parameters"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    (
                        text(&p["name"]),
                        text(&p["in"]),
                        type_of(&p["schema"]),
                        text(&p["description"]),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let content_types = |c: &Value| -> String {
        c.as_object()
            .map(|m| {
                m.iter()
                    .map(|(mime, media)| format!("{mime}: {}", type_of(&media["schema"])))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default()
    };
    let responses = op["responses"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(code, r)| {
                    (
                        code.clone(),
                        text(&r["description"]),
                        content_types(&r["content"]),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    OpView {
        method: method.to_uppercase(),
        path: path.to_owned(),
        anchor: text(&op["operationId"]),
        summary: text(&op["summary"]),
        params,
        body: content_types(&op["requestBody"]["content"]),
        responses,
    }
}

fn page(doc: &Value) -> DocsPage {
    let mut tags: Vec<TagView> = doc["tags"]
        .as_array()
        .map(|ts| {
            ts.iter()
                .map(|t| TagView {
                    name: text(&t["name"]),
                    description: text(&t["description"]),
                    ops: Vec::new(),
                })
                .collect()
        })
        .unwrap_or_default();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            for method in ["get", "post", "put", "patch", "delete"] {
                let Some(op) = item.get(method) else { continue };
                let tag = op["tags"][0].as_str().unwrap_or("other");
                if !tags.iter().any(|t| t.name == tag) {
                    tags.push(TagView {
                        name: tag.into(),
                        description: String::new(),
                        ops: Vec::new(),
                    });
                }
                if let Some(t) = tags.iter_mut().find(|t| t.name == tag) {
                    t.ops.push(op_view(method, path, op));
                }
            }
        }
    }
    let schemas = doc["components"]["schemas"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(name, s)| {
                    let required: Vec<&str> = s["required"]
                        .as_array()
                        .map(|r| r.iter().filter_map(Value::as_str).collect())
                        .unwrap_or_default();
                    let fields = s["properties"]
                        .as_object()
                        .map(|ps| {
                            ps.iter()
                                .map(|(f, p)| {
                                    (
                                        f.clone(),
                                        type_of(p),
                                        required.contains(&f.as_str()),
                                        text(&p["description"]),
                                    )
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    SchemaView {
                        name: name.clone(),
                        description: text(&s["description"]),
                        fields,
                        shape: type_of(s),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    DocsPage {
        title: text(&doc["info"]["title"]),
        description: text(&doc["info"]["description"]),
        version: text(&doc["info"]["version"]),
        tags,
        schemas,
    }
}

pub fn render() -> HttpResponse {
    // The document never changes while the process runs: rendered once.
    static HTML: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let html = HTML.get_or_init(|| {
        let doc: Value = serde_json::from_str(super::document()).unwrap_or(Value::Null);
        page(&doc)
            .render()
            .unwrap_or_else(|e| format!("<p>the API reference could not be rendered: {e}</p>"))
    });
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
        ))
        .body(html.as_str())
}
