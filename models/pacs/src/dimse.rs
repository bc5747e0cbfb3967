//! Classic DICOM networking (PS3.7 DIMSE) over dicom-rs' upper layer (`dicom-ul`): C-FIND,
//! C-GET (with the C-STORE sub-operations it triggers on the same association) and C-STORE.
//!
//! dicom-ul negotiates the association and moves PDUs; the DIMSE messages on top of it (command
//! sets in implicit VR little endian, the C-GET loop that answers each incoming C-STORE) have no
//! crate of their own in dicom-rs 0.10 (its `findscu`/`storescu` tools are binaries, not
//! libraries), so they are built here with `dicom-object` from the command fields of PS3.7 9.3.
//! C-GET is used rather than C-MOVE: it needs no storage server on coxa's side and no entry for
//! coxa in the PACS's list of modalities.

use std::io::Write;

use dicom_core::{DataElement, PrimitiveValue, Tag, VR, dicom_value};
use dicom_dictionary_std::{tags, uids};
use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use dicom_ul::association::client::ClientAssociationOptions;
use dicom_ul::pdu::{PDataValue, PDataValueType, Pdu, PresentationContextResultReason};

use crate::server::{ConnectOptions, FindQuery, Pacs, SeriesMatch, StoreReport, StudyMatch};
use crate::{Error, Result};

type Assoc = dicom_ul::association::client::ClientAssociation<std::net::TcpStream>;

const C_STORE_RQ: u16 = 0x0001;
const C_STORE_RSP: u16 = 0x8001;
const C_GET_RQ: u16 = 0x0010;
const C_GET_RSP: u16 = 0x8010;
const C_FIND_RQ: u16 = 0x0020;
const C_FIND_RSP: u16 = 0x8020;
/// CommandDataSetType: no data set follows.
const NO_DATASET: u16 = 0x0101;

/// Transfer syntaxes proposed for receiving (one presentation context each, so the PACS can send
/// an instance as it is stored, without transcoding).
const RECEIVE_SYNTAXES: [&str; 7] =
    [uids::EXPLICIT_VR_LITTLE_ENDIAN, uids::IMPLICIT_VR_LITTLE_ENDIAN, uids::JPEG2000_LOSSLESS, uids::JPEG2000, uids::JPEG_LOSSLESS_SV1, uids::RLE_LOSSLESS, uids::JPEG_BASELINE8_BIT];

/// Storage SOP classes coxa accepts in a C-GET (images a planning study holds, and coxa's results).
const RECEIVE_CLASSES: [&str; 9] = [
    uids::CT_IMAGE_STORAGE,
    uids::ENHANCED_CT_IMAGE_STORAGE,
    uids::MR_IMAGE_STORAGE,
    uids::SEGMENTATION_STORAGE,
    uids::COMPREHENSIVE_SR_STORAGE,
    uids::SECONDARY_CAPTURE_IMAGE_STORAGE,
    uids::ENCAPSULATED_PDF_STORAGE,
    uids::DIGITAL_X_RAY_IMAGE_STORAGE_FOR_PRESENTATION,
    uids::COMPUTED_RADIOGRAPHY_IMAGE_STORAGE,
];

/// A DIMSE client for one PACS (a new association per operation).
pub struct DimseClient {
    called_aet: String,
    host: String,
    port: u16,
    options: ConnectOptions,
    next_id: u16,
}

impl DimseClient {
    /// A client for `AET@host:port`.
    pub fn new(called_aet: &str, host: &str, port: u16, options: &ConnectOptions) -> Self {
        Self { called_aet: called_aet.to_string(), host: host.to_string(), port, options: options.clone(), next_id: 1 }
    }

    fn server(&self) -> String {
        crate::Address::Dimse { called_aet: self.called_aet.clone(), host: self.host.clone(), port: self.port }.display()
    }

    fn message_id(&mut self) -> u16 {
        self.next_id = self.next_id.wrapping_add(1).max(1);
        self.next_id
    }

    fn options(&self) -> ClientAssociationOptions<'static> {
        ClientAssociationOptions::new()
            .calling_ae_title(self.options.calling_aet.clone())
            .called_ae_title(self.called_aet.clone())
            .connection_timeout(self.options.timeout)
            .read_timeout(self.options.timeout)
            .write_timeout(self.options.timeout)
            .max_pdu_length(65536)
    }

    fn establish(&self, opts: ClientAssociationOptions<'_>, during: &str) -> Result<Assoc> {
        opts.establish_with(&format!("{}@{}:{}", self.called_aet, self.host, self.port)).map_err(|e| self.ul_error(during, &e))
    }

    /// Maps a dicom-ul error to one of ours by its cause.
    fn ul_error(&self, during: &str, e: &dicom_ul::association::Error) -> Error {
        use dicom_ul::association::Error as U;
        let io_kind = {
            let mut src: Option<&(dyn std::error::Error + 'static)> = Some(e);
            let mut kind = None;
            while let Some(s) = src {
                if let Some(io) = s.downcast_ref::<std::io::Error>() {
                    kind = Some(io.kind());
                }
                src = s.source();
            }
            kind
        };
        let timeout = || Error::Timeout { server: self.server(), timeout_s: self.options.timeout.as_secs(), during: during.to_string() };
        match e {
            U::Rejected { association_rj, .. } => Error::AssociationRejected { server: self.server(), why: format!("{:?}, {:?}", association_rj.result, association_rj.source) },
            U::NoAcceptedPresentationContexts { .. } => {
                Error::AssociationRejected { server: self.server(), why: "no presentation context accepted (the PACS supports none of the SOP classes offered)".into() }
            }
            U::Timeout { .. } => timeout(),
            _ => match io_kind {
                Some(std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock) => timeout(),
                Some(std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::AddrNotAvailable | std::io::ErrorKind::HostUnreachable | std::io::ErrorKind::NetworkUnreachable) => {
                    Error::Unreachable { server: self.server(), why: chain(e) }
                }
                _ if matches!(e, U::Connect { .. } | U::ToAddress { .. }) => Error::Unreachable { server: self.server(), why: chain(e) },
                _ => Error::Protocol { server: self.server(), why: format!("{during}: {}", chain(e)) },
            },
        }
    }

    fn protocol(&self, why: impl Into<String>) -> Error {
        Error::Protocol { server: self.server(), why: why.into() }
    }

    /// Sends a command (and its data set, already encoded in the context's transfer syntax).
    fn send(&self, a: &mut Assoc, pc: u8, command: &[u8], data: Option<&[u8]>, during: &str) -> Result<()> {
        a.send(&Pdu::PData { data: vec![PDataValue { presentation_context_id: pc, value_type: PDataValueType::Command, is_last: true, data: command.to_vec() }] })
            .map_err(|e| self.ul_error(during, &e))?;
        if let Some(data) = data {
            let mut w = a.send_pdata(pc);
            w.write_all(data).map_err(|e| self.protocol(format!("{during}: sending the data set: {e}")))?;
            w.finish().map_err(|e| self.protocol(format!("{during}: sending the data set: {e}")))?;
        }
        Ok(())
    }

    /// Receives one DIMSE message: its presentation context, command set and data set bytes.
    fn receive(&self, a: &mut Assoc, during: &str) -> Result<(u8, InMemDicomObject, Option<Vec<u8>>)> {
        let mut command = Vec::new();
        let mut data = Vec::new();
        let mut command_done = false;
        loop {
            let pdu = a.receive().map_err(|e| self.ul_error(during, &e))?;
            match pdu {
                Pdu::PData { data: values } => {
                    for v in values {
                        let pc = v.presentation_context_id;
                        match v.value_type {
                            PDataValueType::Command => {
                                command.extend_from_slice(&v.data);
                                if v.is_last {
                                    command_done = true;
                                    let cmd = read_command(&command).map_err(|why| self.protocol(format!("{during}: {why}")))?;
                                    let has_data = cmd.element(tags::COMMAND_DATA_SET_TYPE).ok().and_then(|e| e.to_int::<u16>().ok()).is_some_and(|t| t != NO_DATASET);
                                    if !has_data {
                                        return Ok((pc, cmd, None));
                                    }
                                }
                            }
                            PDataValueType::Data => {
                                if data.len() as u64 + v.data.len() as u64 > self.options.max_instance_bytes {
                                    return Err(self.protocol(format!("{during}: a data set larger than {} bytes", self.options.max_instance_bytes)));
                                }
                                data.extend_from_slice(&v.data);
                                if v.is_last {
                                    if !command_done {
                                        return Err(self.protocol(format!("{during}: a data set before its command")));
                                    }
                                    let cmd = read_command(&command).map_err(|why| self.protocol(format!("{during}: {why}")))?;
                                    return Ok((pc, cmd, Some(data)));
                                }
                            }
                        }
                    }
                }
                Pdu::AbortRQ { source } => return Err(self.protocol(format!("{during}: the PACS aborted the association ({source:?})"))),
                Pdu::ReleaseRQ => return Err(self.protocol(format!("{during}: the PACS released the association mid-operation"))),
                other => return Err(self.protocol(format!("{during}: unexpected {}", pdu_name(&other)))),
            }
        }
    }

    fn release(&self, a: Assoc) {
        // A failed release after a finished operation changes nothing for the caller.
        let _ = a.release();
    }

    /// C-FIND at `level` with `identifier`: the matches' identifiers.
    fn c_find(&mut self, identifier: InMemDicomObject) -> Result<Vec<InMemDicomObject>> {
        let during = "C-FIND";
        let opts = self.options().with_presentation_context(uids::STUDY_ROOT_QUERY_RETRIEVE_INFORMATION_MODEL_FIND, vec![uids::EXPLICIT_VR_LITTLE_ENDIAN, uids::IMPLICIT_VR_LITTLE_ENDIAN]);
        let mut a = self.establish(opts, during)?;
        let (pc, ts) =
            accepted(&a, uids::STUDY_ROOT_QUERY_RETRIEVE_INFORMATION_MODEL_FIND).ok_or_else(|| Error::AssociationRejected { server: self.server(), why: "C-FIND (study root) not accepted".into() })?;
        let id = self.message_id();
        let cmd = command(&[
            (tags::AFFECTED_SOP_CLASS_UID, VR::UI, PrimitiveValue::from(uids::STUDY_ROOT_QUERY_RETRIEVE_INFORMATION_MODEL_FIND)),
            (tags::COMMAND_FIELD, VR::US, dicom_value!(U16, [C_FIND_RQ])),
            (tags::MESSAGE_ID, VR::US, dicom_value!(U16, [id])),
            (tags::PRIORITY, VR::US, dicom_value!(U16, [0])),
            (tags::COMMAND_DATA_SET_TYPE, VR::US, dicom_value!(U16, [0x0000])),
        ])?;
        let data = encode(&identifier, &ts)?;
        self.send(&mut a, pc, &cmd, Some(&data), during)?;
        let mut found = Vec::new();
        loop {
            let (_, rsp, ds) = self.receive(&mut a, during)?;
            let field = rsp.element(tags::COMMAND_FIELD).ok().and_then(|e| e.to_int::<u16>().ok());
            if field != Some(C_FIND_RSP) {
                return Err(self.protocol(format!("{during}: expected C-FIND-RSP, got command 0x{:04X}", field.unwrap_or(0))));
            }
            let status = status_of(&rsp);
            match status {
                0xFF00 | 0xFF01 => {
                    if let Some(ds) = ds {
                        found.push(decode(&ds, &ts).map_err(|why| self.protocol(format!("{during}: {why}")))?);
                    }
                }
                0x0000 => break,
                s => {
                    let _ = a.abort();
                    return Err(Error::DimseStatus { server: self.server(), what: during.into(), status: s, meaning: status_meaning(s).into() });
                }
            }
        }
        self.release(a);
        Ok(found)
    }
}

fn chain(e: &dyn std::error::Error) -> String {
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

fn pdu_name(p: &Pdu) -> &'static str {
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
fn accepted(a: &Assoc, abstract_syntax: &str) -> Option<(u8, String)> {
    a.presentation_contexts()
        .iter()
        .find(|pc| pc.reason == PresentationContextResultReason::Acceptance && trim_uid(&pc.abstract_syntax) == abstract_syntax)
        .map(|pc| (pc.id, trim_uid(&pc.transfer_syntax).to_string()))
}

fn trim_uid(s: &str) -> &str {
    s.trim_end_matches(['\0', ' '])
}

fn implicit_le() -> &'static dicom_encoding::TransferSyntax {
    TransferSyntaxRegistry.get(uids::IMPLICIT_VR_LITTLE_ENDIAN).expect("implicit VR little endian is built in")
}

/// Encodes a command set (implicit VR little endian, with its group length first).
fn command(fields: &[(Tag, VR, PrimitiveValue)]) -> Result<Vec<u8>> {
    let mut obj = InMemDicomObject::new_empty();
    for (tag, vr, v) in fields {
        obj.put(DataElement::new(*tag, *vr, v.clone()));
    }
    let body = encode_ts(&obj, implicit_le())?;
    obj.put(DataElement::new(tags::COMMAND_GROUP_LENGTH, VR::UL, dicom_value!(U32, [body.len() as u32])));
    encode_ts(&obj, implicit_le())
}

fn read_command(bytes: &[u8]) -> std::result::Result<InMemDicomObject, String> {
    InMemDicomObject::read_dataset_with_ts(bytes, implicit_le()).map_err(|e| format!("unreadable command set: {e}"))
}

fn encode_ts(obj: &InMemDicomObject, ts: &dicom_encoding::TransferSyntax) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    obj.write_dataset_with_ts(&mut out, ts).map_err(|e| Error::Dicom { what: "data set".into(), why: e.to_string() })?;
    Ok(out)
}

fn encode(obj: &InMemDicomObject, ts_uid: &str) -> Result<Vec<u8>> {
    let ts = TransferSyntaxRegistry.get(ts_uid).ok_or_else(|| Error::Dicom { what: "transfer syntax".into(), why: format!("{ts_uid} is not known") })?;
    encode_ts(obj, ts)
}

fn decode(bytes: &[u8], ts_uid: &str) -> std::result::Result<InMemDicomObject, String> {
    let ts = TransferSyntaxRegistry.get(ts_uid).ok_or_else(|| format!("transfer syntax {ts_uid} is not known"))?;
    InMemDicomObject::read_dataset_with_ts(bytes, ts).map_err(|e| format!("unreadable data set: {e}"))
}

fn status_of(cmd: &InMemDicomObject) -> u16 {
    cmd.element(tags::STATUS).ok().and_then(|e| e.to_int::<u16>().ok()).unwrap_or(0xFFFF)
}

fn status_meaning(s: u16) -> &'static str {
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

fn put_str(obj: &mut InMemDicomObject, tag: Tag, vr: VR, v: &str) {
    obj.put(DataElement::new(tag, vr, PrimitiveValue::from(v)));
}

fn get_str(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
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

impl Pacs for DimseClient {
    fn server(&self) -> String {
        DimseClient::server(self)
    }

    fn find_studies(&mut self, q: &FindQuery) -> Result<Vec<StudyMatch>> {
        let mut id = InMemDicomObject::new_empty();
        put_str(&mut id, tags::QUERY_RETRIEVE_LEVEL, VR::CS, "STUDY");
        put_str(&mut id, tags::STUDY_INSTANCE_UID, VR::UI, q.study_uid.as_deref().unwrap_or(""));
        put_str(&mut id, tags::PATIENT_ID, VR::LO, q.patient_id.as_deref().unwrap_or(""));
        put_str(&mut id, tags::ACCESSION_NUMBER, VR::SH, q.accession.as_deref().unwrap_or(""));
        put_str(&mut id, tags::STUDY_DATE, VR::DA, q.study_date.as_deref().unwrap_or(""));
        put_str(&mut id, tags::MODALITIES_IN_STUDY, VR::CS, q.modality.as_deref().unwrap_or(""));
        put_str(&mut id, tags::PATIENT_NAME, VR::PN, "");
        put_str(&mut id, tags::NUMBER_OF_STUDY_RELATED_SERIES, VR::IS, "");
        put_str(&mut id, tags::NUMBER_OF_STUDY_RELATED_INSTANCES, VR::IS, "");
        let found = self.c_find(id)?;
        Ok(found
            .iter()
            .filter_map(|o| {
                Some(StudyMatch {
                    study_uid: get_str(o, tags::STUDY_INSTANCE_UID)?,
                    study_date: get_str(o, tags::STUDY_DATE),
                    modalities: get_str(o, tags::MODALITIES_IN_STUDY).map(|m| m.split('\\').map(str::to_string).collect()).unwrap_or_default(),
                    n_series: get_str(o, tags::NUMBER_OF_STUDY_RELATED_SERIES).and_then(|s| s.trim().parse().ok()),
                    n_instances: get_str(o, tags::NUMBER_OF_STUDY_RELATED_INSTANCES).and_then(|s| s.trim().parse().ok()),
                    patient_name: get_str(o, tags::PATIENT_NAME),
                    patient_id: get_str(o, tags::PATIENT_ID),
                    accession: get_str(o, tags::ACCESSION_NUMBER),
                })
            })
            .collect())
    }

    fn find_series(&mut self, study_uid: &str) -> Result<Vec<SeriesMatch>> {
        let mut id = InMemDicomObject::new_empty();
        put_str(&mut id, tags::QUERY_RETRIEVE_LEVEL, VR::CS, "SERIES");
        put_str(&mut id, tags::STUDY_INSTANCE_UID, VR::UI, study_uid);
        put_str(&mut id, tags::SERIES_INSTANCE_UID, VR::UI, "");
        put_str(&mut id, tags::MODALITY, VR::CS, "");
        put_str(&mut id, tags::SERIES_NUMBER, VR::IS, "");
        put_str(&mut id, tags::NUMBER_OF_SERIES_RELATED_INSTANCES, VR::IS, "");
        let found = self.c_find(id)?;
        Ok(found
            .iter()
            .filter_map(|o| {
                Some(SeriesMatch {
                    study_uid: study_uid.to_string(),
                    series_uid: get_str(o, tags::SERIES_INSTANCE_UID)?,
                    modality: get_str(o, tags::MODALITY).unwrap_or_default(),
                    series_number: get_str(o, tags::SERIES_NUMBER).and_then(|s| s.trim().parse().ok()),
                    n_instances: get_str(o, tags::NUMBER_OF_SERIES_RELATED_INSTANCES).and_then(|s| s.trim().parse().ok()),
                })
            })
            .collect())
    }

    fn retrieve_series(&mut self, study_uid: &str, series_uid: &str, sink: &mut dyn FnMut(Vec<u8>) -> Result<()>) -> Result<usize> {
        let during = "C-GET";
        let get = uids::STUDY_ROOT_QUERY_RETRIEVE_INFORMATION_MODEL_GET;
        let mut opts = self.options().with_presentation_context(get, vec![uids::EXPLICIT_VR_LITTLE_ENDIAN, uids::IMPLICIT_VR_LITTLE_ENDIAN]);
        for class in RECEIVE_CLASSES {
            for ts in RECEIVE_SYNTAXES {
                opts = opts.with_presentation_context(class, vec![ts]);
            }
            opts = opts.with_role_selection(class, false, true);
        }
        let mut a = self.establish(opts, during)?;
        let (pc, ts) = accepted(&a, get).ok_or_else(|| Error::AssociationRejected { server: self.server(), why: "C-GET (study root) not accepted".into() })?;
        let mut id = InMemDicomObject::new_empty();
        put_str(&mut id, tags::QUERY_RETRIEVE_LEVEL, VR::CS, "SERIES");
        put_str(&mut id, tags::STUDY_INSTANCE_UID, VR::UI, study_uid);
        put_str(&mut id, tags::SERIES_INSTANCE_UID, VR::UI, series_uid);
        let msg = self.message_id();
        let cmd = command(&[
            (tags::AFFECTED_SOP_CLASS_UID, VR::UI, PrimitiveValue::from(get)),
            (tags::COMMAND_FIELD, VR::US, dicom_value!(U16, [C_GET_RQ])),
            (tags::MESSAGE_ID, VR::US, dicom_value!(U16, [msg])),
            (tags::PRIORITY, VR::US, dicom_value!(U16, [0])),
            (tags::COMMAND_DATA_SET_TYPE, VR::US, dicom_value!(U16, [0x0000])),
        ])?;
        self.send(&mut a, pc, &cmd, Some(&encode(&id, &ts)?), during)?;
        let contexts: Vec<(u8, String)> = a.presentation_contexts().iter().map(|p| (p.id, trim_uid(&p.transfer_syntax).to_string())).collect();
        let mut n = 0usize;
        loop {
            let (rpc, rsp, ds) = self.receive(&mut a, during)?;
            let field = rsp.element(tags::COMMAND_FIELD).ok().and_then(|e| e.to_int::<u16>().ok()).unwrap_or(0);
            match field {
                C_STORE_RQ => {
                    let Some(ds) = ds else {
                        return Err(self.protocol("C-STORE sub-operation without a data set"));
                    };
                    let class = get_str(&rsp, tags::AFFECTED_SOP_CLASS_UID).unwrap_or_default();
                    let inst = get_str(&rsp, tags::AFFECTED_SOP_INSTANCE_UID).unwrap_or_default();
                    let sub_ts = contexts.iter().find(|(id, _)| *id == rpc).map(|(_, t)| t.clone()).ok_or_else(|| self.protocol(format!("C-STORE on unknown presentation context {rpc}")))?;
                    let file = part10(&ds, &sub_ts, &class, &inst)?;
                    let stored = sink(file);
                    let status: u16 = if stored.is_ok() { 0x0000 } else { 0xA700 };
                    let sub_id = rsp.element(tags::MESSAGE_ID).ok().and_then(|e| e.to_int::<u16>().ok()).unwrap_or(0);
                    let reply = command(&[
                        (tags::AFFECTED_SOP_CLASS_UID, VR::UI, PrimitiveValue::from(class.as_str())),
                        (tags::COMMAND_FIELD, VR::US, dicom_value!(U16, [C_STORE_RSP])),
                        (tags::MESSAGE_ID_BEING_RESPONDED_TO, VR::US, dicom_value!(U16, [sub_id])),
                        (tags::COMMAND_DATA_SET_TYPE, VR::US, dicom_value!(U16, [NO_DATASET])),
                        (tags::STATUS, VR::US, dicom_value!(U16, [status])),
                        (tags::AFFECTED_SOP_INSTANCE_UID, VR::UI, PrimitiveValue::from(inst.as_str())),
                    ])?;
                    self.send(&mut a, rpc, &reply, None, during)?;
                    if let Err(e) = stored {
                        let _ = a.abort();
                        return Err(e);
                    }
                    n += 1;
                }
                C_GET_RSP => {
                    let status = status_of(&rsp);
                    match status {
                        0xFF00 => {}
                        0x0000 => break,
                        s => {
                            let failed = rsp.element(tags::NUMBER_OF_FAILED_SUBOPERATIONS).ok().and_then(|e| e.to_int::<u32>().ok()).unwrap_or(0);
                            let _ = a.abort();
                            return Err(Error::DimseStatus {
                                server: self.server(),
                                what: format!("C-GET of series {series_uid} ({failed} sub-operations failed)"),
                                status: s,
                                meaning: status_meaning(s).into(),
                            });
                        }
                    }
                }
                other => return Err(self.protocol(format!("{during}: unexpected command 0x{other:04X}"))),
            }
        }
        self.release(a);
        Ok(n)
    }

    fn store(&mut self, files: &[Vec<u8>]) -> Result<StoreReport> {
        let during = "C-STORE";
        if files.is_empty() {
            return Ok(StoreReport::default());
        }
        let mut parts = Vec::new();
        for f in files {
            parts.push(split_part10(f)?);
        }
        let mut pairs: Vec<(String, String)> = parts.iter().map(|(c, _, t, _)| (c.clone(), t.clone())).collect();
        pairs.sort();
        pairs.dedup();
        let mut opts = self.options();
        for (class, ts) in &pairs {
            opts = opts.with_presentation_context(class.clone(), vec![ts.clone()]);
        }
        let mut a = self.establish(opts, during)?;
        let contexts: Vec<(u8, String, String)> = a
            .presentation_contexts()
            .iter()
            .filter(|p| p.reason == PresentationContextResultReason::Acceptance)
            .map(|p| (p.id, trim_uid(&p.abstract_syntax).to_string(), trim_uid(&p.transfer_syntax).to_string()))
            .collect();
        let mut report = StoreReport { sent: files.len(), ..Default::default() };
        let mut failures = Vec::new();
        for (class, inst, ts, ds) in &parts {
            let Some((pc, _, _)) = contexts.iter().find(|(_, c, t)| c == class && t == ts) else {
                failures.push(format!("{inst}: SOP class {class} in {ts} not accepted"));
                continue;
            };
            let msg = self.message_id();
            let cmd = command(&[
                (tags::AFFECTED_SOP_CLASS_UID, VR::UI, PrimitiveValue::from(class.as_str())),
                (tags::COMMAND_FIELD, VR::US, dicom_value!(U16, [C_STORE_RQ])),
                (tags::MESSAGE_ID, VR::US, dicom_value!(U16, [msg])),
                (tags::PRIORITY, VR::US, dicom_value!(U16, [0])),
                (tags::COMMAND_DATA_SET_TYPE, VR::US, dicom_value!(U16, [0x0000])),
                (tags::AFFECTED_SOP_INSTANCE_UID, VR::UI, PrimitiveValue::from(inst.as_str())),
            ])?;
            self.send(&mut a, *pc, &cmd, Some(ds), during)?;
            let (_, rsp, _) = self.receive(&mut a, during)?;
            match status_of(&rsp) {
                0x0000 => report.stored += 1,
                s @ (0xB000 | 0xB006 | 0xB007) => {
                    report.stored += 1;
                    report.warnings.push(format!("{inst}: warning 0x{s:04X} ({})", status_meaning(s)));
                }
                s => failures.push(format!("{inst}: 0x{s:04X} ({})", status_meaning(s))),
            }
        }
        self.release(a);
        if !failures.is_empty() {
            return Err(Error::StoreFailed { server: self.server(), failed: failures.len(), total: files.len(), why: failures.join("; ") });
        }
        Ok(report)
    }
}
