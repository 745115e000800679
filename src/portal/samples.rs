//! Working integration samples for one license, shown in its preview: each one
//! validates the license for a device and prints the verdict code and detail.
//! The tests run every sample (curl, php-cli, node, python3) against a live server.

use crate::domain::Environment;

/// One code sample.
pub struct Sample {
    /// Short name used in ids and file names.
    pub lang: &'static str,
    /// Tab label.
    pub label: &'static str,
    /// Name the sample downloads as.
    pub file_name: &'static str,
    /// The script, ready to run.
    pub code: String,
}

/// Device identifier the samples use.
pub const SAMPLE_DEVICE: &str = "workstation-01";

/// JSON string literal (keys and URLs are plain ASCII, but quote them properly anyway).
fn lit(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// Single-quoted shell word.
fn sh(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The four samples for `key` in `env`, calling the server at `base` (e.g. `http://host:8080`).
pub fn for_license(base: &str, env: Environment, key: &str) -> Vec<Sample> {
    let url = format!(
        "{}/v1/{}/licenses/validate",
        base.trim_end_matches('/'),
        env
    );
    let title = format!("Validate license {key} for device {SAMPLE_DEVICE} ({env}).");
    let (url_l, key_l, dev_l) = (lit(&url), lit(key), lit(SAMPLE_DEVICE));
    let script: Literals = (&title, &url_l, &key_l, &dev_l);
    [
        ("curl", "cURL", "validate.sh", curl(&title, &url, key)),
        ("php", "PHP", "validate.php", php(script)),
        (
            "javascript",
            "JavaScript (Node 18+)",
            "validate.mjs",
            javascript(script),
        ),
        ("python", "Python 3", "validate.py", python(script)),
    ]
    .into_iter()
    .map(|(lang, label, file_name, code)| Sample {
        lang,
        label,
        file_name,
        code,
    })
    .collect()
}

/// What a script sample embeds: its title line, then the URL, key and device
/// identifier as JSON string literals.
type Literals<'a> = (&'a str, &'a str, &'a str, &'a str);

/// A shell script: the request with curl, the JSON answer printed.
fn curl(title: &str, url: &str, key: &str) -> String {
    let body = serde_json::json!({ "key": key, "identifier": SAMPLE_DEVICE }).to_string();
    format!(
        "#!/bin/sh\n# {}\ncurl -sS -X POST {} \\\n  -H 'Content-Type: application/json' \\\n  -d {}\necho\n",
        title,
        sh(url),
        sh(&body)
    )
}

/// PHP without extensions (streams), exiting 0 only on a valid license.
fn php((title, url_l, key_l, dev_l): Literals) -> String {
    format!(
        r#"<?php
// {title}
$url = {url_l};
$body = json_encode(['key' => {key_l}, 'identifier' => {dev_l}]);
$context = stream_context_create(['http' => [
    'method' => 'POST',
    'header' => "Content-Type: application/json\r\n",
    'content' => $body,
    'ignore_errors' => true,
]]);
$answer = json_decode(file_get_contents($url, false, $context), true);
echo $answer['code'] . ': ' . $answer['detail'] . PHP_EOL;
exit($answer['valid'] ? 0 : 1);
"#
    )
}

/// An ES module for Node 18+ (built-in fetch), exiting 0 only on a valid license.
fn javascript((title, url_l, key_l, dev_l): Literals) -> String {
    format!(
        r#"// {title}
const response = await fetch({url_l}, {{
  method: "POST",
  headers: {{ "Content-Type": "application/json" }},
  body: JSON.stringify({{ key: {key_l}, identifier: {dev_l} }}),
}});
const answer = await response.json();
console.log(`${{answer.code}}: ${{answer.detail}}`);
process.exit(answer.valid ? 0 : 1);
"#
    )
}

/// Python 3 with the standard library only, exiting 0 only on a valid license.
fn python((title, url_l, key_l, dev_l): Literals) -> String {
    format!(
        r#"# {title}
import json
import sys
import urllib.request

request = urllib.request.Request(
    {url_l},
    data=json.dumps({{"key": {key_l}, "identifier": {dev_l}}}).encode(),
    headers={{"Content-Type": "application/json"}},
    method="POST",
)
with urllib.request.urlopen(request) as response:
    answer = json.load(response)
print(f"{{answer['code']}}: {{answer['detail']}}")
sys.exit(0 if answer["valid"] else 1)
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_names_the_key_environment_and_url() {
        let s = for_license("http://127.0.0.1:9/", Environment::Staging, "AB-CD");
        assert_eq!(s.len(), 4);
        for x in &s {
            assert!(x.code.contains("AB-CD"), "{}", x.lang);
            assert!(
                x.code
                    .contains("http://127.0.0.1:9/v1/staging/licenses/validate"),
                "{}",
                x.lang
            );
        }
        assert_eq!(sh("it's"), "'it'\\''s'");
    }
}
