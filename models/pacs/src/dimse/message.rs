//! DIMSE messages (PS3.7 9.3, 10.3): command sets in implicit VR little endian, data sets in
//! a presentation context's transfer syntax, statuses, and the Part 10 wrapping of a received
//! data set. Shared by the client operations ([`super`]) and the storage SCP of a C-MOVE
//! ([`super::retrieve`]).

use dicom_core::{DataElement, PrimitiveValue, Tag, VR, dicom_value};
use dicom_dictionary_std::{tags, uids};
use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use dicom_ul::association::Association;
use dicom_ul::pdu::{Pdu, PresentationContextResultReason};

use crate::{Error, Result};

pub(super) const C_STORE_RQ: u16 = 0x0001;
pub(super) const C_STORE_RSP: u16 = 0x8001;
pub(super) const C_GET_RQ: u16 = 0x0010;
pub(super) const C_GET_RSP: u16 = 0x8010;
pub(super) const C_FIND_RQ: u16 = 0x0020;
pub(super) const C_FIND_RSP: u16 = 0x8020;
pub(super) const C_MOVE_RQ: u16 = 0x0021;
pub(super) const C_MOVE_RSP: u16 = 0x8021;
pub(super) const C_ECHO_RQ: u16 = 0x0030;
pub(super) const C_ECHO_RSP: u16 = 0x8030;
/// CommandDataSetType: no data set follows.
pub(super) const NO_DATASET: u16 = 0x0101;

/// The command field of a command set (0 when missing).
pub(super) fn field_of(cmd: &InMemDicomObject) -> u16 {
    cmd.element(tags::COMMAND_FIELD).ok().and_then(|e| e.to_int::<u16>().ok()).unwrap_or(0)
}

/// An unsigned 16-bit command element (0 when missing).
pub(super) fn u16_of(cmd: &InMemDicomObject, tag: Tag) -> u16 {
    cmd.element(tag).ok().and_then(|e| e.to_int::<u16>().ok()).unwrap_or(0)
}

/// The C-STORE-RSP to a C-STORE-RQ `rq` with `status`.
pub(super) fn store_response(rq: &InMemDicomObject, status: u16) -> Result<Vec<u8>> {
    let class = get_str(rq, tags::AFFECTED_SOP_CLASS_UID).unwrap_or_default();
    let inst = get_str(rq, tags::AFFECTED_SOP_INSTANCE_UID).unwrap_or_default();
    command(&[
        (tags::AFFECTED_SOP_CLASS_UID, VR::UI, PrimitiveValue::from(class.as_str())),
        (tags::COMMAND_FIELD, VR::US, dicom_value!(U16, [C_STORE_RSP])),
        (tags::MESSAGE_ID_BEING_RESPONDED_TO, VR::US, dicom_value!(U16, [u16_of(rq, tags::MESSAGE_ID)])),
        (tags::COMMAND_DATA_SET_TYPE, VR::US, dicom_value!(U16, [NO_DATASET])),
        (tags::STATUS, VR::US, dicom_value!(U16, [status])),
        (tags::AFFECTED_SOP_INSTANCE_UID, VR::UI, PrimitiveValue::from(inst.as_str())),
    ])
}

pub(super) fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(x) = src {
        let t = x.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = x.source();
    }
    s
}

pub(super) fn pdu_name(p: &Pdu) -> &'static str {
    match p {
        Pdu::AssociationRQ(_) => "A-ASSOCIATE-RQ",
        Pdu::AssociationAC(_) => "A-ASSOCIATE-AC",
        Pdu::AssociationRJ(_) => "A-ASSOCIATE-RJ",
        Pdu::PData { .. } => "P-DATA",
        Pdu::ReleaseRQ => "A-RELEASE-RQ",
        Pdu::ReleaseRP => "A-RELEASE-RP",
        Pdu::AbortRQ { .. } => "A-ABORT",
        Pdu::Unknown { .. } => "unknown PDU",
    }
}

/// The accepted presentation context (id, transfer syntax) for an abstract syntax.
pub(super) fn accepted(a: &impl Association, abstract_syntax: &str) -> Option<(u8, String)> {
    a.presentation_contexts()
        .iter()
        .find(|pc| pc.reason == PresentationContextResultReason::Acceptance && trim_uid(&pc.abstract_syntax) == abstract_syntax)
        .map(|pc| (pc.id, trim_uid(&pc.transfer_syntax).to_string()))
}

pub(super) fn trim_uid(s: &str) -> &str {
    s.trim_end_matches(['\0', ' '])
}

pub(super) fn implicit_le() -> &'static dicom_encoding::TransferSyntax {
    TransferSyntaxRegistry.get(uids::IMPLICIT_VR_LITTLE_ENDIAN).expect("implicit VR little endian is built in")
}

/// Encodes a command set (implicit VR little endian, with its group length first).
pub(super) fn command(fields: &[(Tag, VR, PrimitiveValue)]) -> Result<Vec<u8>> {
    let mut obj = InMemDicomObject::new_empty();
    for (tag, vr, v) in fields {
        obj.put(DataElement::new(*tag, *vr, v.clone()));
    }
    let body = encode_ts(&obj, implicit_le())?;
    obj.put(DataElement::new(tags::COMMAND_GROUP_LENGTH, VR::UL, dicom_value!(U32, [body.len() as u32])));
    encode_ts(&obj, implicit_le())
}

pub(super) fn read_command(bytes: &[u8]) -> std::result::Result<InMemDicomObject, String> {
    InMemDicomObject::read_dataset_with_ts(bytes, implicit_le()).map_err(|e| format!("unreadable command set: {e}"))
}

pub(super) fn encode_ts(obj: &InMemDicomObject, ts: &dicom_encoding::TransferSyntax) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    obj.write_dataset_with_ts(&mut out, ts).map_err(|e| Error::Dicom { what: "data set".into(), why: e.to_string() })?;
    Ok(out)
}

pub(super) fn encode(obj: &InMemDicomObject, ts_uid: &str) -> Result<Vec<u8>> {
    let ts = TransferSyntaxRegistry.get(ts_uid).ok_or_else(|| Error::Dicom { what: "transfer syntax".into(), why: format!("{ts_uid} is not known") })?;
    encode_ts(obj, ts)
}

pub(super) fn decode(bytes: &[u8], ts_uid: &str) -> std::result::Result<InMemDicomObject, String> {
    let ts = TransferSyntaxRegistry.get(ts_uid).ok_or_else(|| format!("transfer syntax {ts_uid} is not known"))?;
    InMemDicomObject::read_dataset_with_ts(bytes, ts).map_err(|e| format!("unreadable data set: {e}"))
}

pub(super) fn status_of(cmd: &InMemDicomObject) -> u16 {
    cmd.element(tags::STATUS).ok().and_then(|e| e.to_int::<u16>().ok()).unwrap_or(0xFFFF)
}

pub(super) fn status_meaning(s: u16) -> &'static str {
    match s {
        0x0000 => "success",
        0xFF00 | 0xFF01 => "pending",
        0xFE00 => "cancelled",
        0xA700..=0xA7FF => "out of resources",
        0xA900..=0xA9FF => "data set does not match SOP class",
        0xA801 => "move destination unknown",
        0xB000 => "some sub-operations failed",
        0xB007 => "data set does not match SOP class (stored anyway)",
        0xC000..=0xCFFF => "cannot understand / processing failure",
        0x0122 => "SOP class not supported",
        0x0124 => "not authorised",
        0x0110 => "processing failure",
        _ => "failure",
    }
}

pub(super) fn put_str(obj: &mut InMemDicomObject, tag: Tag, vr: VR, v: &str) {
    obj.put(DataElement::new(tag, vr, PrimitiveValue::from(v)));
}

pub(super) fn get_str(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
    let s = obj.element(tag).ok()?.to_str().ok()?.trim_end_matches(['\0', ' ']).to_string();
    (!s.is_empty()).then_some(s)
}

/// Wraps a received data set (encoded in `ts`) as a Part 10 file, bytes unchanged.
pub(crate) fn part10(ds: &[u8], ts: &str, sop_class: &str, sop_instance: &str) -> Result<Vec<u8>> {
    let meta = FileMetaTableBuilder::new()
        .transfer_syntax(ts)
        .media_storage_sop_class_uid(sop_class)
        .media_storage_sop_instance_uid(sop_instance)
        .build()
        .map_err(|e| Error::Dicom { what: format!("file meta of {sop_instance}"), why: e.to_string() })?;
    let mut out = vec![0u8; 128];
    out.extend_from_slice(b"DICM");
    meta.write(&mut out).map_err(|e| Error::Dicom { what: format!("file meta of {sop_instance}"), why: e.to_string() })?;
    out.extend_from_slice(ds);
    Ok(out)
}

/// The data set bytes of a Part 10 file (after its file meta).
pub fn dataset_of(file: &[u8]) -> Result<&[u8]> {
    Ok(split_part10(file)?.3)
}

/// A Part 10 file split into (SOP class, SOP instance, transfer syntax, data set bytes).
pub(crate) fn split_part10(file: &[u8]) -> Result<(String, String, String, &[u8])> {
    let bad = |why: &str| Error::Dicom { what: "Part 10 file".into(), why: why.into() };
    if file.len() < 144 || &file[128..132] != b"DICM" {
        return Err(bad("no DICM marker at byte 128"));
    }
    let meta = dicom_object::FileMetaTable::from_reader(&file[128..]).map_err(|e| bad(&format!("unreadable file meta: {e}")))?;
    // (0002,0000) UL: 4 tag + 2 VR + 2 length + 4 value, then the group's bytes.
    let start = 132 + 12 + meta.information_group_length as usize;
    if start > file.len() {
        return Err(bad("file meta longer than the file"));
    }
    Ok((trim_uid(&meta.media_storage_sop_class_uid).to_string(), trim_uid(&meta.media_storage_sop_instance_uid).to_string(), trim_uid(&meta.transfer_syntax).to_string(), &file[start..]))
}
