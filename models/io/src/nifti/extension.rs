//! NIfTI-1 header extensions, and the class names a label map carries in one: TotalSegmentator's
//! `--ml` label maps (`totalsegmentator.nifti_ext_header.add_label_map_to_nifti`) store them as
//! a Caret XML label table (`<CaretExtension> ... <LabelTable><Label Key="75" ...>
//! <![CDATA[femur_left]]></Label>`) in an extension of code 0; Connectome Workbench's label
//! volumes use the same table.
//!
//! After the 348-byte header come 4 bytes whose first says whether extensions follow, then each
//! extension: its size (a multiple of 16, the 8 bytes of size and code included), its code, its
//! data, up to `vox_offset`. The XML is parsed with roxmltree.

use std::path::Path;

use coxa_core::ClassTable;

use super::read::{Layout, Source};
use crate::Result;

/// Most bytes of extensions read (more are skipped, as before: the voxels are still read).
const MAX_EXTENSION_BYTES: u64 = 16 << 20;

/// The extensions `(code, data)` between the header and the voxels of `src` (positioned after
/// the header); none when the extender says so, when there is no room, or when they take more
/// than [`MAX_EXTENSION_BYTES`]. A malformed extension ends the list (the voxels are read as
/// before).
pub(crate) fn read(src: &mut Source, layout: &Layout, path: &Path) -> Result<Vec<(i32, Vec<u8>)>> {
    let room = layout.data_offset().saturating_sub(src.position());
    if !(4 + 8..=MAX_EXTENSION_BYTES).contains(&room) {
        return Ok(Vec::new());
    }
    let mut buf = vec![0u8; room as usize];
    let got = src.read_full(&mut buf, path)?;
    buf.truncate(got);
    if buf.first().is_none_or(|&e| e == 0) {
        return Ok(Vec::new());
    }
    let int = |b: &[u8]| {
        let a = [b[0], b[1], b[2], b[3]];
        if src.big_endian() { i32::from_be_bytes(a) } else { i32::from_le_bytes(a) }
    };
    let mut out = Vec::new();
    let mut at = 4usize;
    while at + 8 <= buf.len() {
        let (size, code) = (int(&buf[at..]), int(&buf[at + 4..]));
        let Ok(size) = usize::try_from(size) else { break };
        if size < 8 || at + size > buf.len() {
            break;
        }
        out.push((code, buf[at + 8..at + size].to_vec()));
        at += size;
    }
    Ok(out)
}

/// The class table of a Caret XML label table in any of `extensions` (TotalSegmentator's `--ml`
/// label maps): each `Label`'s `Key` and text; `None` when no extension holds one.
pub(crate) fn label_names(extensions: &[(i32, Vec<u8>)]) -> Option<ClassTable> {
    extensions.iter().find_map(|(_, data)| {
        let text = std::str::from_utf8(data).ok()?.trim_end_matches(['\0', ' ', '\n', '\r', '\t']);
        if !text.contains("<CaretExtension") {
            return None;
        }
        let doc = roxmltree::Document::parse(text).ok()?;
        let mut table = ClassTable::new();
        for label in doc.descendants().filter(|n| n.has_tag_name("Label")) {
            let id: u16 = label.attribute("Key")?.trim().parse().ok()?;
            let name = label.text().map(str::trim).filter(|n| !n.is_empty())?;
            table.insert(id, name);
        }
        (!table.is_empty()).then_some(table)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totalsegmentators_label_table_is_read() {
        // As `add_label_map_to_nifti` writes it.
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?> <CaretExtension>  <Date><![CDATA[2013-07-14T05:45:09]]></Date>   <VolumeInformation Index=\"0\">   <LabelTable>\n\
                   <Label Key=\"25\" Red=\"1.0\" Green=\"0.0\" Blue=\"0.0\" Alpha=\"1\"><![CDATA[sacrum]]></Label>\n\
                   <Label Key=\"75\" Red=\"0.0\" Green=\"1.0\" Blue=\"0.0\" Alpha=\"1\"><![CDATA[femur_left]]></Label>\n\
                   \n  </LabelTable>  <StudyMetaDataLinkSet>  </StudyMetaDataLinkSet>  <VolumeType><![CDATA[Label]]></VolumeType>   </VolumeInformation></CaretExtension>\n              \0\0";
        let table = label_names(&[(4, b"not xml".to_vec()), (0, xml.as_bytes().to_vec())]).unwrap();
        assert_eq!(table.iter().collect::<Vec<_>>(), [(25, "sacrum"), (75, "femur_left")]);
        assert!(label_names(&[(0, b"<?xml version=\"1.0\"?><other/>".to_vec())]).is_none());
        assert!(label_names(&[]).is_none());
    }
}
