//! Classic DICOM networking (PS3.7 DIMSE) over dicom-rs' upper layer (`dicom-ul`): C-ECHO,
//! C-FIND, C-GET (with the C-STORE sub-operations it triggers on the same association), C-MOVE
//! (to coxa's own storage SCP, [`retrieve`]) and C-STORE.
//!
//! dicom-ul negotiates the association and moves PDUs; the DIMSE messages on top of it (command
//! sets in implicit VR little endian, the loops that answer each incoming C-STORE) have no
//! crate of their own in dicom-rs 0.10 (its `findscu`/`storescu`/`storescp` tools are binaries,
//! not libraries), so they are built here with `dicom-object` from the command fields of PS3.7
//! 9.3 ([`message`]). C-GET is the default: it needs no storage server on coxa's side and no
//! entry for coxa in the PACS's list of modalities; C-MOVE is for the many hospital PACS that
//! allow only it.

mod message;
mod retrieve;

use std::io::Write;
use std::net::TcpStream;

use dicom_core::{PrimitiveValue, VR, dicom_value};
use dicom_dictionary_std::{tags, uids};
use dicom_object::InMemDicomObject;
use dicom_ul::association::SyncAssociation;
use dicom_ul::association::client::ClientAssociationOptions;
use dicom_ul::pdu::{PDataValue, PDataValueType, Pdu, PresentationContextResultReason};

pub use message::dataset_of;
#[cfg(test)]
pub(crate) use message::part10;
pub(crate) use message::split_part10;
use message::*;

use crate::server::{ConnectOptions, FindQuery, Pacs, Retrieve, SeriesMatch, StoreReport, StudyMatch};
use crate::{Error, Result};

type Assoc = dicom_ul::association::client::ClientAssociation<TcpStream>;

/// Transfer syntaxes proposed for receiving (one presentation context each, so the PACS can send
/// an instance as it is stored, without transcoding).
const RECEIVE_SYNTAXES: [&str; 7] =
    [uids::EXPLICIT_VR_LITTLE_ENDIAN, uids::IMPLICIT_VR_LITTLE_ENDIAN, uids::JPEG2000_LOSSLESS, uids::JPEG2000, uids::JPEG_LOSSLESS_SV1, uids::RLE_LOSSLESS, uids::JPEG_BASELINE8_BIT];

/// Storage SOP classes coxa accepts in a C-GET or C-MOVE (images a planning study holds, and
/// coxa's results).
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

/// What arrived on an association.
enum Received {
    /// A message: presentation context, command set, data set bytes.
    Message(u8, InMemDicomObject, Option<Vec<u8>>),
    /// The peer asked to release the association.
    Released,
    /// The peer aborted the association (its source).
    Aborted(String),
}

/// A DIMSE client for one PACS (a new association per operation).
#[derive(Clone)]
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
    fn send<A: SyncAssociation<TcpStream>>(&self, a: &mut A, pc: u8, command: &[u8], data: Option<&[u8]>, during: &str) -> Result<()> {
        SyncAssociation::send(a, &Pdu::PData { data: vec![PDataValue { presentation_context_id: pc, value_type: PDataValueType::Command, is_last: true, data: command.to_vec() }] })
            .map_err(|e| self.ul_error(during, &e))?;
        if let Some(data) = data {
            let mut w = a.send_pdata(pc);
            w.write_all(data).map_err(|e| self.protocol(format!("{during}: sending the data set: {e}")))?;
            w.finish().map_err(|e| self.protocol(format!("{during}: sending the data set: {e}")))?;
        }
        Ok(())
    }

    /// Receives one DIMSE message: its presentation context, command set and data set bytes.
    fn receive<A: SyncAssociation<TcpStream>>(&self, a: &mut A, during: &str) -> Result<(u8, InMemDicomObject, Option<Vec<u8>>)> {
        self.message(self.receive_or_release(a, during)?, during)
    }

    /// The message received, or the error that the peer released or aborted the association.
    fn message(&self, received: Received, during: &str) -> Result<(u8, InMemDicomObject, Option<Vec<u8>>)> {
        match received {
            Received::Message(pc, cmd, data) => Ok((pc, cmd, data)),
            Received::Released => Err(self.protocol(format!("{during}: the PACS released the association mid-operation"))),
            Received::Aborted(source) => Err(self.protocol(format!("{during}: the PACS aborted the association ({source})"))),
        }
    }

    /// Receives one DIMSE message, or the peer's release request.
    fn receive_or_release<A: SyncAssociation<TcpStream>>(&self, a: &mut A, during: &str) -> Result<Received> {
        let mut command = Vec::new();
        let mut data = Vec::new();
        let mut command_done = false;
        loop {
            let pdu = SyncAssociation::receive(a).map_err(|e| self.ul_error(during, &e))?;
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
                                        return Ok(Received::Message(pc, cmd, None));
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
                                    return Ok(Received::Message(pc, cmd, Some(data)));
                                }
                            }
                        }
                    }
                }
                Pdu::AbortRQ { source } => return Ok(Received::Aborted(format!("{source:?}"))),
                Pdu::ReleaseRQ => return Ok(Received::Released),
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
        match self.options.retrieve {
            Retrieve::Get => self.c_get(study_uid, series_uid, sink),
            Retrieve::Move { port } => self.c_move(study_uid, series_uid, port, sink),
        }
    }

    fn echo(&mut self) -> Result<()> {
        self.c_echo()
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
