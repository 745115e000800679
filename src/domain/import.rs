//! Reading a CSV of licenses to import: the columns by their header (any order,
//! any case; the License Keys export's own columns are understood, so an export
//! imports into another environment), each cell checked. Pure: what the store
//! knows (products, taken keys, customers) is checked by the app afterwards.

use chrono::{DateTime, NaiveDate, Utc};

use super::customer::normalize_email;
use super::job::RowProblem;
use super::{ActivationLimit, LicenseKey};

/// A data row as written, each cell checked on its own.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRow {
    /// The row's line in the file (the header is line 1).
    pub line: u32,
    /// The key to keep (a migration); None: one is generated.
    pub key: Option<LicenseKey>,
    /// A product's name or id.
    pub product: String,
    pub owner_email: Option<String>,
    pub activation_limit: Option<ActivationLimit>,
    /// None: lifetime.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Why a file cannot be read at all (the rows are not looked at).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("the file is empty: it needs a header row and at least one license")]
    Empty,
    #[error("the file is not a readable CSV: {0}")]
    NotCsv(String),
    #[error(
        "unknown column(s) {0}: use key, product, customer_email, activation_limit, expires_at"
    )]
    UnknownColumns(String),
    #[error("the header has no “product” column (each license needs its product)")]
    NoProduct,
    #[error("the file has more than {0} licenses: split it")]
    TooManyRows(usize),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Column {
    Key,
    Product,
    Email,
    Limit,
    Expires,
    /// Written by the export, not imported (status, names, counts, dates).
    Ignored,
}

fn column(name: &str) -> Option<Column> {
    Some(match name {
        "key" | "license_key" => Column::Key,
        "product" | "product_id" => Column::Product,
        "customer_email" | "email" => Column::Email,
        "activation_limit" | "max_activations" => Column::Limit,
        "expires_at" | "expires" | "expiry" => Column::Expires,
        // The export's other columns, and unnamed ones (a trailing comma).
        "customer_name" | "status" | "activations_in_use" | "created_at" | "" => Column::Ignored,
        _ => return None,
    })
}

/// A cell as a person typed it: trimmed, and without the `'` the export puts
/// before a cell a spreadsheet would read as a formula.
fn cell(raw: &str) -> &str {
    let t = raw.trim();
    match t.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@']) => rest,
        _ => t,
    }
}

/// Reads every data row: well-formed rows, and the rows refused with why.
/// Blank rows are skipped. More than `max_rows` refuses the file.
pub fn read(bytes: &[u8], max_rows: usize) -> Result<(Vec<RawRow>, Vec<RowProblem>), ImportError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut r = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let header = r
        .headers()
        .map_err(|e| ImportError::NotCsv(e.to_string()))?;
    if header.iter().all(|h| h.trim().is_empty()) {
        return Err(ImportError::Empty);
    }
    let names: Vec<String> = header
        .iter()
        .map(|h| cell(h).to_ascii_lowercase())
        .collect();
    let unknown: Vec<String> = names
        .iter()
        .filter(|n| column(n).is_none())
        .map(|n| format!("“{n}”"))
        .collect();
    if !unknown.is_empty() {
        return Err(ImportError::UnknownColumns(unknown.join(", ")));
    }
    let columns: Vec<Column> = names.iter().filter_map(|n| column(n)).collect();
    if !columns.contains(&Column::Product) {
        return Err(ImportError::NoProduct);
    }
    let (mut rows, mut problems) = (Vec::new(), Vec::new());
    for record in r.records() {
        let record = record.map_err(|e| ImportError::NotCsv(e.to_string()))?;
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if rows.len() + problems.len() >= max_rows {
            return Err(ImportError::TooManyRows(max_rows));
        }
        let line = record.position().map_or(0, |p| p.line()) as u32;
        match row(line, &columns, &record) {
            Ok(row) => rows.push(row),
            Err(message) => problems.push(RowProblem { line, message }),
        }
    }
    if rows.is_empty() && problems.is_empty() {
        return Err(ImportError::Empty);
    }
    Ok((rows, problems))
}

/// One data row, or every fault of it in one sentence.
fn row(line: u32, columns: &[Column], record: &csv::StringRecord) -> Result<RawRow, String> {
    let mut out = RawRow {
        line,
        key: None,
        product: String::new(),
        owner_email: None,
        activation_limit: None,
        expires_at: None,
    };
    let mut faults = Vec::new();
    if record.len() > columns.len() {
        faults.push(format!(
            "{} cells where the header has {} columns",
            record.len(),
            columns.len()
        ));
    }
    for (col, raw) in columns.iter().zip(record.iter()) {
        let v = cell(raw);
        if v.is_empty() {
            continue;
        }
        match col {
            Column::Key => match LicenseKey::parse(v) {
                Ok(k) => out.key = Some(k),
                Err(e) => faults.push(e),
            },
            Column::Product => out.product = v.to_owned(),
            Column::Email => match normalize_email(v) {
                Ok(e) => out.owner_email = Some(e),
                Err(e) => faults.push(format!("customer email {e}")),
            },
            Column::Limit => match limit(v) {
                Ok(l) => out.activation_limit = Some(l),
                Err(e) => faults.push(e),
            },
            Column::Expires => match expiry(v) {
                Ok(t) => out.expires_at = t,
                Err(e) => faults.push(e),
            },
            Column::Ignored => {}
        }
    }
    if out.product.is_empty() {
        faults.push("product is empty".into());
    }
    if faults.is_empty() {
        Ok(out)
    } else {
        Err(faults.join("; "))
    }
}

fn limit(v: &str) -> Result<ActivationLimit, String> {
    if v.eq_ignore_ascii_case("unlimited") {
        return Ok(ActivationLimit::UNLIMITED);
    }
    let n: i64 = v
        .parse()
        .map_err(|_| format!("activation limit “{v}” is not a number (or “unlimited”)"))?;
    ActivationLimit::new(n).map_err(|e| format!("activation limit {e}"))
}

/// A date (the end of that day, UTC, as the license form reads it), an RFC 3339
/// time (as the export writes it), or “lifetime”.
fn expiry(v: &str) -> Result<Option<DateTime<Utc>>, String> {
    if v.eq_ignore_ascii_case("lifetime") {
        return Ok(None);
    }
    if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(23, 59, 59).map(|t| t.and_utc()));
    }
    DateTime::parse_from_rfc3339(v)
        .map(|t| Some(t.with_timezone(&Utc)))
        .map_err(|_| {
            format!("expiry “{v}” is not a date (YYYY-MM-DD), a time (RFC 3339) or “lifetime”")
        })
}

#[cfg(test)]
#[path = "import_tests.rs"]
mod tests;
