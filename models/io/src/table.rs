//! The CSV tables coxa writes (`rom_sweep.csv`, `summary-N.csv` and `summary.csv`,
//! `radiomics.csv`), all in one dialect through the `csv` crate: comma-separated, `\n` line
//! ends, a field quoted only when it holds a comma, a `"` (doubled inside the quotes) or a line
//! break (RFC 4180), so Python's csv module, pandas and spreadsheets read every field back as it
//! was written. Every row has the header's number of fields: a row that has not is an error.
//!
//! Slicer's `.fcsv` ([`crate::markups`]) is not written here: it is Slicer's own format (comment
//! lines first, commas in a label replaced rather than quoted, as Slicer's readers split on them).

/// A CSV text of `rows`, the first being the header: the fields as given, quoted only where
/// needed.
///
/// # Errors
/// A row whose number of fields differs from the first row's.
pub fn csv_text<R, F>(rows: impl IntoIterator<Item = R>) -> Result<String, csv::Error>
where
    R: IntoIterator<Item = F>,
    F: AsRef<[u8]>,
{
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    for row in rows {
        w.write_record(row)?;
    }
    let bytes = w.into_inner().map_err(|e| csv::Error::from(e.into_error()))?;
    // Fields are UTF-8 in coxa's callers; a caller passing other bytes gets them replaced.
    Ok(String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_needing_quotes_read_back_as_written() {
        let evil = "Ærø, \"Müller\"\nsecond line";
        let rows = vec![vec!["case", "value", "note"], vec![evil, "1.5", ""], vec!["plain", "-2", "a\r\nb"]];
        let text = csv_text(&rows).unwrap();
        // Only the fields that need it are quoted.
        assert!(text.starts_with("case,value,note\n\"Ærø, \"\"Müller\"\"\nsecond line\",1.5,\nplain,-2,\"a\r\nb\"\n"), "{text:?}");
        let mut r = csv::ReaderBuilder::new().has_headers(false).from_reader(text.as_bytes());
        let back: Vec<Vec<String>> = r.records().map(|rec| rec.unwrap().iter().map(str::to_string).collect()).collect();
        assert_eq!(back, rows.iter().map(|r| r.iter().map(|f| f.to_string()).collect::<Vec<_>>()).collect::<Vec<_>>());
    }

    #[test]
    fn plain_fields_are_written_as_given() {
        let text = csv_text([["label", "head_diameter_mm"], ["standing", "32"]]).unwrap();
        assert_eq!(text, "label,head_diameter_mm\nstanding,32\n");
    }

    #[test]
    fn a_ragged_row_is_an_error() {
        let e = csv_text([vec!["a", "b"], vec!["1"]]).unwrap_err();
        assert!(e.to_string().contains("found record with 1 field"), "{e}");
    }
}
