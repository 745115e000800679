//! Working integration samples for one license, shown in its preview: each one
//! validates the license for a device and prints the verdict code and detail.
//! The tests run every sample (curl, php-cli, node, python3) against a live server.

use crate::domain::Environment;

/// One code sample.
pub struct Sample {
    /// Short name used in ids and file names.
    pub lang: &'static str,
    pub label: &'static str,
    pub file_name: &'static str,
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
    let body = serde_json::json!({ "key": key, "identifier": SAMPLE_DEVICE }).to_string();
    vec![
        Sample {
            lang: "curl",
            label: "cURL",
            file_name: "validate.sh",
            code: format!(
                "#!/bin/sh\n# Validate license {key} for device {SAMPLE_DEVICE} ({env}).\ncurl -sS -X POST {} \\\n  -H 'Content-Type: application/json' \\\n  -d {}\necho\n",
                sh(&url),
                sh(&body)
            ),
        },
        Sample {
            lang: "php",
            label: "PHP",
            file_name: "validate.php",
            code: format!(
                r#"<?php
// Validate license {key} for device {SAMPLE_DEVICE} ({env}).
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
"#,
                url_l = lit(&url),
                key_l = lit(key),
                dev_l = lit(SAMPLE_DEVICE),
            ),
        },
        Sample {
            lang: "javascript",
            label: "JavaScript (Node 18+)",
            file_name: "validate.mjs",
            code: format!(
                r#"// Validate license {key} for device {SAMPLE_DEVICE} ({env}).
const response = await fetch({url_l}, {{
  method: "POST",
  headers: {{ "Content-Type": "application/json" }},
  body: JSON.stringify({{ key: {key_l}, identifier: {dev_l} }}),
}});
const answer = await response.json();
console.log(`${{answer.code}}: ${{answer.detail}}`);
process.exit(answer.valid ? 0 : 1);
"#,
                url_l = lit(&url),
                key_l = lit(key),
                dev_l = lit(SAMPLE_DEVICE),
            ),
        },
        Sample {
            lang: "python",
            label: "Python 3",
            file_name: "validate.py",
            code: format!(
                r#"# Validate license {key} for device {SAMPLE_DEVICE} ({env}).
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
"#,
                url_l = lit(&url),
                key_l = lit(key),
                dev_l = lit(SAMPLE_DEVICE),
            ),
        },
    ]
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
