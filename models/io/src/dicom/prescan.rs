//! A walk over a DICOM file's element headers that checks every announced length against the
//! bytes that follow, before dicom-object parses the file.
//!
//! Hand-written because dicom-parser 0.10 allocates (and zero-fills) each value at its announced
//! length before reading it (`buf.resize(len, 0)` in `stateful/decode.rs`), so a 5 KB file that
//! announces a 4 GB element costs 4 GB before its error, and dicom-object has no option bounding
//! element lengths. The walk reads only the element headers (tag, VR, length) and seeks over the
//! values; memory stays a few kilobytes whatever the file says.
//!
//! It follows PS3.5 7.1 (explicit and implicit VR, little and big endian), PS3.5 7.5 (sequences
//! and items of defined or undefined length; an undefined-length UN holds implicit VR little
//! endian) and PS3.5 A.4 (encapsulated pixel data: fragments in items). A deflated data set
//! (1.2.840.10008.1.2.1.99) is not walked (its lengths would need inflating it): only the file
//! meta group is checked there.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry, VirtualVr};
use dicom_core::{Tag, VR};
use dicom_dictionary_std::StandardDataDictionary;

use super::DicomError;
use crate::{Error, Result};

/// What the walk learnt about the file's pixel data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PixelData {
    /// No PixelData element at the top level.
    Absent,
    /// Native (uncompressed) pixel data of `len` bytes, its value starting at byte `offset`.
    Native {
        /// Length of the value, bytes.
        len: u64,
        /// Where the value starts in the file, bytes.
        offset: u64,
    },
    /// Encapsulated (compressed) fragments.
    Encapsulated,
    /// Not known (a deflated data set is not walked).
    Unknown,
}

#[derive(Debug, Clone, Copy)]
struct Frame {
    /// Where a defined-length sequence or item ends; `None`: at its delimiter.
    end: Option<u64>,
    implicit: bool,
    /// The fragments of encapsulated pixel data: items are skipped, not entered.
    encapsulated: bool,
}

const UNDEFINED: u32 = 0xFFFF_FFFF;
const PIXEL_DATA: Tag = Tag(0x7FE0, 0x0010);

struct Walker<'a> {
    r: BufReader<File>,
    pos: u64,
    len: u64,
    path: &'a Path,
    big_endian: bool,
}

impl Walker<'_> {
    fn io(&self, e: std::io::Error) -> Error {
        Error::Unreadable { path: self.path.to_path_buf(), source: e }
    }
    fn truncated(&self, what: &str) -> Error {
        DicomError::ElementTooLong { path: self.path.to_path_buf(), tag: what.to_string(), length: 8, remaining: self.len - self.pos }.into()
    }
    fn bytes<const N: usize>(&mut self) -> Result<[u8; N]> {
        if self.len - self.pos < N as u64 {
            return Err(self.truncated("(an element header)"));
        }
        let mut b = [0u8; N];
        self.r.read_exact(&mut b).map_err(|e| self.io(e))?;
        self.pos += N as u64;
        Ok(b)
    }
    fn u16(&mut self) -> Result<u16> {
        let b = self.bytes::<2>()?;
        Ok(if self.big_endian { u16::from_be_bytes(b) } else { u16::from_le_bytes(b) })
    }
    fn u32(&mut self) -> Result<u32> {
        let b = self.bytes::<4>()?;
        Ok(if self.big_endian { u32::from_be_bytes(b) } else { u32::from_le_bytes(b) })
    }
    fn tag(&mut self) -> Result<Tag> {
        let g = self.u16()?;
        let e = self.u16()?;
        Ok(Tag(g, e))
    }
    /// Checks that `length` bytes follow, naming `tag` otherwise.
    fn fits(&self, tag: Tag, length: u32) -> Result<()> {
        let remaining = self.len - self.pos;
        if u64::from(length) > remaining {
            return Err(DicomError::ElementTooLong { path: self.path.to_path_buf(), tag: format!("({:04X},{:04X})", tag.group(), tag.element()), length: u64::from(length), remaining }.into());
        }
        Ok(())
    }
    /// Checks that a binary VR's `length` is a whole number of its values. dicom-parser 0.10
    /// reads such a value short (an OF of 2 bytes as zero floats) and then parses the rest of
    /// the value as the next element header: a 742-byte file then announced an element of
    /// hundreds of MB, which dicom-parser zero-filled (seconds and 750 MB; found by fuzzing).
    fn whole(&self, tag: Tag, vr: VR, length: u32) -> Result<()> {
        let unit = match vr {
            VR::OW | VR::SS | VR::US => 2,
            VR::OF | VR::FL | VR::OL | VR::SL | VR::UL | VR::AT => 4,
            VR::OD | VR::FD | VR::OV | VR::SV | VR::UV => 8,
            _ => 1,
        };
        if length != UNDEFINED && !length.is_multiple_of(unit) {
            return Err(DicomError::ElementLengthNotWhole { path: self.path.to_path_buf(), tag: format!("({:04X},{:04X})", tag.group(), tag.element()), vr: vr.to_string(), length, unit }.into());
        }
        Ok(())
    }
    /// Checks that `length` bytes (and the header just read) stay inside the innermost
    /// defined-length sequence or item of `stack`. dicom-parser ends a sequence at its announced
    /// length whatever its items say, so an item longer than its sequence made the two walks
    /// disagree: the parser then took "DICM" as a length and zero-filled 1.2 GB (found by fuzzing).
    fn inside(&self, stack: &[Frame], tag: Tag, length: u32) -> Result<()> {
        if let Some(end) = stack.iter().filter_map(|f| f.end).min() {
            let remaining = end.saturating_sub(self.pos);
            if self.pos > end || (length != UNDEFINED && u64::from(length) > remaining) {
                return Err(DicomError::ElementCrossesItem { path: self.path.to_path_buf(), tag: format!("({:04X},{:04X})", tag.group(), tag.element()), length: u64::from(length), remaining }.into());
            }
        }
        Ok(())
    }
    fn skip(&mut self, n: u32) -> Result<()> {
        self.r.seek_relative(i64::from(n)).map_err(|e| self.io(e))?;
        self.pos += u64::from(n);
        Ok(())
    }
    /// VR and length of an explicit VR element header (after the tag).
    fn explicit_vr_length(&mut self) -> Result<(VR, u32)> {
        let vr_bytes = self.bytes::<2>()?;
        let vr = VR::from_binary(vr_bytes).unwrap_or(VR::UN);
        let long = matches!(vr, VR::OB | VR::OD | VR::OF | VR::OL | VR::OV | VR::OW | VR::SQ | VR::SV | VR::UC | VR::UN | VR::UR | VR::UT | VR::UV);
        let length = if long {
            let _reserved = self.bytes::<2>()?;
            self.u32()?
        } else {
            u32::from(self.u16()?)
        };
        Ok((vr, length))
    }
}

/// The dictionary's VR of `tag` when it has exactly one (UN otherwise).
fn dictionary_vr(tag: Tag) -> VR {
    match StandardDataDictionary.by_tag(tag).map(|e| e.vr()) {
        Some(VirtualVr::Exact(vr)) => vr,
        _ => VR::UN,
    }
}

fn is_sequence_in_dictionary(tag: Tag) -> bool {
    StandardDataDictionary.by_tag(tag).is_some_and(|e| e.vr() == VirtualVr::Exact(VR::SQ))
}

/// Walks the element headers of the DICOM file `path`, checking that every announced length fits
/// in the bytes that follow. Reads a few kilobytes whatever the file announces.
pub(crate) fn prescan(path: &Path) -> Result<PixelData> {
    let file = File::open(path).map_err(|e| Error::Unreadable { path: path.to_path_buf(), source: e })?;
    let len = file.metadata().map_err(|e| Error::Unreadable { path: path.to_path_buf(), source: e })?.len();
    let mut w = Walker { r: BufReader::with_capacity(8192, file), pos: 0, len, path, big_endian: false };
    let preamble = w.bytes::<132>().map_err(|_| DicomError::NotDicom { path: path.to_path_buf() })?;
    if &preamble[128..] != b"DICM" {
        return Err(DicomError::NotDicom { path: path.to_path_buf() }.into());
    }

    // File meta group (PS3.10 7.1): explicit VR little endian, group 0002.
    let mut transfer_syntax = String::new();
    // Where the group length (0002,0000) says the group ends: dicom-object reads the meta group
    // by it, so an element of another group inside it, or a length that ends inside an element,
    // would make the two walks disagree (found by fuzzing: a meta element turned (00FE,0001)
    // made dicom-parser take later bytes as a 1 GB length).
    let mut meta_end: Option<u64> = None;
    loop {
        if meta_end.is_some_and(|end| w.pos >= end) {
            if meta_end != Some(w.pos) {
                return Err(DicomError::MetaGroupLength { path: path.to_path_buf(), why: format!("its elements end at byte {}, past the {} bytes it announces", w.pos, meta_end.unwrap_or(0)) }.into());
            }
            break;
        }
        if w.len - w.pos < 4 {
            break;
        }
        let tag = w.tag()?;
        if tag.group() != 0x0002 {
            if meta_end.is_some() {
                return Err(DicomError::MetaGroupLength {
                    path: path.to_path_buf(),
                    why: format!("element ({:04X},{:04X}) of another group lies inside the length it announces", tag.group(), tag.element()),
                }
                .into());
            }
            w.r.seek_relative(-4).map_err(|e| w.io(e))?;
            w.pos -= 4;
            break;
        }
        let (vr, length) = w.explicit_vr_length()?;
        w.whole(tag, vr, length)?;
        w.fits(tag, length)?;
        if tag == Tag(0x0002, 0x0000) && length == 4 && meta_end.is_none() {
            let g = w.u32()?;
            meta_end = Some(w.pos + u64::from(g));
            continue;
        }
        if tag == Tag(0x0002, 0x0010) && length <= 64 {
            let mut b = vec![0u8; length as usize];
            w.r.read_exact(&mut b).map_err(|e| w.io(e))?;
            w.pos += u64::from(length);
            transfer_syntax = String::from_utf8_lossy(&b).trim_end_matches(['\0', ' ']).to_string();
        } else {
            w.skip(length)?;
        }
    }

    let implicit = match transfer_syntax.as_str() {
        "1.2.840.10008.1.2.1.99" => return Ok(PixelData::Unknown),
        "1.2.840.10008.1.2" => true,
        "1.2.840.10008.1.2.2" => {
            w.big_endian = true;
            false
        }
        _ => false,
    };

    let mut stack: Vec<Frame> = Vec::new();
    let mut pixel_data = PixelData::Absent;
    loop {
        while stack.last().is_some_and(|f| f.end.is_some_and(|e| e <= w.pos)) {
            let _ = stack.pop();
        }
        if w.pos >= w.len {
            break;
        }
        let top = stack.last().copied();
        let cur_implicit = top.map_or(implicit, |f| f.implicit);
        let tag = w.tag()?;
        if tag.group() == 0xFFFE {
            // Items and delimiters: no VR, a 4-byte length, in every transfer syntax.
            let length = w.u32()?;
            w.inside(&stack, tag, length)?;
            match tag.element() {
                0xE000 if top.is_some_and(|f| f.encapsulated) => {
                    w.fits(tag, length)?;
                    w.skip(length)?;
                }
                0xE000 => {
                    let end = if length == UNDEFINED {
                        None
                    } else {
                        w.fits(tag, length)?;
                        Some(w.pos + u64::from(length))
                    };
                    stack.push(Frame { end, implicit: cur_implicit, encapsulated: false });
                }
                _ => {
                    // Item or sequence delimiter: closes the innermost undefined-length frame.
                    if let Some(i) = stack.iter().rposition(|f| f.end.is_none()) {
                        stack.truncate(i);
                    }
                }
            }
            continue;
        }
        let (vr, length) = if cur_implicit {
            let length = w.u32()?;
            // dicom-parser decodes an implicit value by its dictionary VR.
            w.whole(tag, dictionary_vr(tag), length)?;
            (if is_sequence_in_dictionary(tag) { VR::SQ } else { VR::UN }, length)
        } else {
            let (vr, length) = w.explicit_vr_length()?;
            w.whole(tag, vr, length)?;
            (vr, length)
        };
        w.inside(&stack, tag, length)?;
        let top_level = stack.is_empty();
        if length == UNDEFINED {
            if tag == PIXEL_DATA && top_level {
                pixel_data = PixelData::Encapsulated;
                stack.push(Frame { end: None, implicit: cur_implicit, encapsulated: true });
            } else {
                // A sequence; an undefined-length UN holds implicit VR little endian (PS3.5 6.2.2).
                let implicit_inside = cur_implicit || vr == VR::UN;
                stack.push(Frame { end: None, implicit: implicit_inside, encapsulated: false });
            }
            continue;
        }
        w.fits(tag, length)?;
        if vr == VR::SQ {
            stack.push(Frame { end: Some(w.pos + u64::from(length)), implicit: cur_implicit, encapsulated: false });
            continue;
        }
        if tag == PIXEL_DATA && top_level {
            pixel_data = PixelData::Native { len: u64::from(length), offset: w.pos };
        }
        w.skip(length)?;
    }
    Ok(pixel_data)
}
