//! Working integration samples for one license, shown in its preview: each one
//! validates the license for a device and prints the verdict code and detail.
//! The tests run every sample (curl, php-cli, node, python3) against a live server.

use crate::domain::diagnosis::SamplePlan;
use crate::domain::verdict::Op;
use crate::domain::Environment;

/// One code sample.
pub struct Sample {
    /// Short name used in ids and file names.
    pub lang: &'static str,
    /// Tab label.
    pub label: &'static str,
    /// Name the sample downloads as (`validate.py`, `activate.sh`…).
    pub file_name: String,
    /// The script, ready to run.
    pub code: String,
}

/// Device identifier the samples activate when none is activated yet.
pub const SAMPLE_DEVICE: &str = "workstation-01";

/// JSON string literal (keys and URLs are plain ASCII, but quote them properly anyway).
fn lit(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// Single-quoted shell word.
fn sh(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The four samples for `key` in `env` as `plan` says (validate an activated
/// device, or activate a new one), calling the server at `base` (e.g. `http://host:8080`).
pub fn for_license(base: &str, env: Environment, key: &str, plan: &SamplePlan) -> Vec<Sample> {
    let op = if plan.op == Op::Activate {
        "activate"
    } else {
        "validate"
    };
    let url = format!("{}/v1/{}/licenses/{op}", base.trim_end_matches('/'), env);
    let device = plan.device.as_str();
    let title = if plan.op == Op::Activate {
        format!("Activate license {key} on device {device} ({env}); run again, it validates.")
    } else {
        format!("Validate license {key} for device {device} ({env}).")
    };
    let (url_l, key_l, dev_l) = (lit(&url), lit(key), lit(device));
    let script: Literals = (&title, &url_l, &key_l, &dev_l);
    [
        ("curl", "cURL", "sh", curl(&title, &url, key, device)),
        ("php", "PHP", "php", php(script)),
        (
            "javascript",
            "JavaScript (Node 18+)",
            "mjs",
            javascript(script),
        ),
        ("python", "Python 3", "py", python(script)),
    ]
    .into_iter()
    .map(|(lang, label, ext, code)| Sample {
        lang,
        label,
        file_name: format!("{op}.{ext}"),
        code,
    })
    .collect()
}

/// What a script sample embeds: its title line, then the URL, key and device
/// identifier as JSON string literals.
type Literals<'a> = (&'a str, &'a str, &'a str, &'a str);

/// A shell script: the request with curl, the JSON answer printed.
fn curl(title: &str, url: &str, key: &str, device: &str) -> String {
    let body = serde_json::json!({ "key": key, "identifier": device }).to_string();
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
    fn every_sample_names_the_key_environment_url_and_device() {
        let plan = |op, device: &str| SamplePlan {
            device: device.into(),
            op,
            expected: crate::domain::verdict::Verdict::yes(crate::domain::VerdictCode::Valid, "ok"),
        };
        for (op, path, device) in [
            (Op::Validate, "validate", "pc-7"),
            (Op::Activate, "activate", SAMPLE_DEVICE),
        ] {
            let s = for_license(
                "http://127.0.0.1:9/",
                Environment::Staging,
                "AB-CD",
                &plan(op, device),
            );
            assert_eq!(s.len(), 4);
            for x in &s {
                assert!(
                    x.code.contains("AB-CD") && x.code.contains(device),
                    "{}",
                    x.lang
                );
                let url = format!("http://127.0.0.1:9/v1/staging/licenses/{path}");
                assert!(x.code.contains(&url), "{}", x.lang);
                assert!(x.file_name.starts_with(path), "{}", x.file_name);
            }
        }
        assert_eq!(sh("it's"), "'it'\\''s'");
    }
}
