//! Retrieving a series (C-GET, C-MOVE) and C-ECHO.
//!
//! **C-GET** asks for the series and answers each C-STORE sub-operation the PACS sends back on
//! the same association. **C-MOVE** asks the PACS to send the series to coxa's AE title, which
//! the PACS looks up in its list of modalities (host and port): coxa listens on that port (a
//! storage SCP, dicom-ul's server association) for as long as the move lasts. The request runs
//! on its own thread, since the PACS sends the instances while coxa waits for the move's
//! answers; the instances go to the caller's sink on the calling thread, exactly as in a C-GET,
//! and the listener closes once the move's final answer has come.

use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use dicom_core::{PrimitiveValue, VR, dicom_value};
use dicom_dictionary_std::{tags, uids};
use dicom_object::InMemDicomObject;
use dicom_ul::association::SyncAssociation;
use dicom_ul::association::server::ServerAssociationOptions;
use dicom_ul::pdu::Pdu;

use super::message::*;
use super::{DimseClient, RECEIVE_CLASSES, RECEIVE_SYNTAXES, Received};
use crate::{Error, Result};

/// The identifier of one series at SERIES level.
fn series_identifier(study_uid: &str, series_uid: &str) -> InMemDicomObject {
    let mut id = InMemDicomObject::new_empty();
    put_str(&mut id, tags::QUERY_RETRIEVE_LEVEL, VR::CS, "SERIES");
    put_str(&mut id, tags::STUDY_INSTANCE_UID, VR::UI, study_uid);
    put_str(&mut id, tags::SERIES_INSTANCE_UID, VR::UI, series_uid);
    id
}

impl DimseClient {
    /// C-ECHO: the PACS answers the Verification service.
    pub(super) fn c_echo(&mut self) -> Result<()> {
        let during = "C-ECHO";
        let opts = self.options().with_presentation_context(uids::VERIFICATION, vec![uids::IMPLICIT_VR_LITTLE_ENDIAN, uids::EXPLICIT_VR_LITTLE_ENDIAN]);
        let mut a = self.establish(opts, during)?;
        let (pc, _) = accepted(&a, uids::VERIFICATION).ok_or_else(|| Error::AssociationRejected { server: self.server(), why: "Verification (C-ECHO) not accepted".into() })?;
        let msg = self.message_id();
        let cmd = command(&[
            (tags::AFFECTED_SOP_CLASS_UID, VR::UI, PrimitiveValue::from(uids::VERIFICATION)),
            (tags::COMMAND_FIELD, VR::US, dicom_value!(U16, [C_ECHO_RQ])),
            (tags::MESSAGE_ID, VR::US, dicom_value!(U16, [msg])),
            (tags::COMMAND_DATA_SET_TYPE, VR::US, dicom_value!(U16, [NO_DATASET])),
        ])?;
        self.send(&mut a, pc, &cmd, None, during)?;
        let (_, rsp, _) = self.receive(&mut a, during)?;
        if field_of(&rsp) != C_ECHO_RSP {
            return Err(self.protocol(format!("{during}: expected C-ECHO-RSP, got command 0x{:04X}", field_of(&rsp))));
        }
        match status_of(&rsp) {
            0x0000 => {
                self.release(a);
                Ok(())
            }
            s => {
                let _ = a.abort();
                Err(Error::DimseStatus { server: self.server(), what: during.into(), status: s, meaning: status_meaning(s).into() })
            }
        }
    }

    /// Answers one C-STORE sub-operation (of a C-GET, or on the storage SCP of a C-MOVE): the
    /// data set goes to `sink` as a Part 10 file and the response says whether it was kept.
    /// The caller aborts the association when this fails.
    #[allow(clippy::too_many_arguments, reason = "one message of an association with its context")]
    fn store_sub_operation<A: SyncAssociation<TcpStream>>(
        &self,
        a: &mut A,
        pc: u8,
        rq: &InMemDicomObject,
        ds: Option<Vec<u8>>,
        contexts: &[(u8, String)],
        sink: &mut dyn FnMut(Vec<u8>) -> Result<()>,
        during: &str,
    ) -> Result<()> {
        let Some(ds) = ds else {
            return Err(self.protocol(format!("{during}: a C-STORE sub-operation without a data set")));
        };
        let class = get_str(rq, tags::AFFECTED_SOP_CLASS_UID).unwrap_or_default();
        let inst = get_str(rq, tags::AFFECTED_SOP_INSTANCE_UID).unwrap_or_default();
        let ts = contexts.iter().find(|(id, _)| *id == pc).map(|(_, t)| t.clone()).ok_or_else(|| self.protocol(format!("{during}: a C-STORE on unknown presentation context {pc}")))?;
        let stored = part10(&ds, &ts, &class, &inst).and_then(&mut *sink);
        let reply = store_response(rq, if stored.is_ok() { 0x0000 } else { 0xA700 })?;
        self.send(a, pc, &reply, None, during)?;
        stored
    }

    /// C-GET of one series: the instances arrive as C-STORE sub-operations on the same association.
    pub(super) fn c_get(&mut self, study_uid: &str, series_uid: &str, sink: &mut dyn FnMut(Vec<u8>) -> Result<()>) -> Result<usize> {
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
        let (pc, ts) = accepted(&a, get).ok_or_else(|| Error::RetrieveRefused { server: self.server(), how: "C-GET".into(), why: "the PACS does not offer C-GET (study root)".into() })?;
        let msg = self.message_id();
        let cmd = command(&[
            (tags::AFFECTED_SOP_CLASS_UID, VR::UI, PrimitiveValue::from(get)),
            (tags::COMMAND_FIELD, VR::US, dicom_value!(U16, [C_GET_RQ])),
            (tags::MESSAGE_ID, VR::US, dicom_value!(U16, [msg])),
            (tags::PRIORITY, VR::US, dicom_value!(U16, [0])),
            (tags::COMMAND_DATA_SET_TYPE, VR::US, dicom_value!(U16, [0x0000])),
        ])?;
        self.send(&mut a, pc, &cmd, Some(&encode(&series_identifier(study_uid, series_uid), &ts)?), during)?;
        let contexts: Vec<(u8, String)> = a.presentation_contexts().iter().map(|p| (p.id, trim_uid(&p.transfer_syntax).to_string())).collect();
        let mut n = 0usize;
        loop {
            let (rpc, rsp, ds) = match self.receive_or_release(&mut a, during)? {
                // Aborted before anything arrived: how Orthanc refuses a C-GET it does not allow.
                Received::Aborted(source) if n == 0 => return Err(self.refused_by_abort("C-GET", &source)),
                other => self.message(other, during)?,
            };
            match field_of(&rsp) {
                C_STORE_RQ => {
                    if let Err(e) = self.store_sub_operation(&mut a, rpc, &rsp, ds, &contexts, sink, during) {
                        let _ = a.abort();
                        return Err(e);
                    }
                    n += 1;
                }
                C_GET_RSP => match status_of(&rsp) {
                    0xFF00 => {}
                    0x0000 => break,
                    s => {
                        let _ = a.abort();
                        return Err(self.retrieve_failed("C-GET", series_uid, &rsp, s));
                    }
                },
                other => return Err(self.protocol(format!("{during}: unexpected command 0x{other:04X}"))),
            }
        }
        self.release(a);
        Ok(n)
    }

    /// A retrieve the PACS aborted before any answer: refused.
    fn refused_by_abort(&self, how: &str, source: &str) -> Error {
        Error::RetrieveRefused { server: self.server(), how: how.into(), why: format!("it aborted the association on the request ({source}), as PACS do for a retrieve they do not allow coxa") }
    }

    /// The error of a C-GET or C-MOVE that ended with status `s`.
    fn retrieve_failed(&self, how: &str, series_uid: &str, rsp: &InMemDicomObject, s: u16) -> Error {
        let failed = rsp.element(tags::NUMBER_OF_FAILED_SUBOPERATIONS).ok().and_then(|e| e.to_int::<u32>().ok()).unwrap_or(0);
        match s {
            // Refused outright (not authorised, not supported): the other retrieve may be allowed.
            0x0124 | 0x0122 | 0xC000..=0xCFFF if failed == 0 => Error::RetrieveRefused { server: self.server(), how: how.into(), why: format!("status 0x{s:04X}, {}", status_meaning(s)) },
            _ => Error::DimseStatus { server: self.server(), what: format!("{how} of series {series_uid} ({failed} sub-operations failed)"), status: s, meaning: status_meaning(s).into() },
        }
    }

    /// C-MOVE of one series to coxa's own AE title, received by a storage SCP on `port`.
    pub(super) fn c_move(&mut self, study_uid: &str, series_uid: &str, port: u16, sink: &mut dyn FnMut(Vec<u8>) -> Result<()>) -> Result<usize> {
        let listener = TcpListener::bind(("0.0.0.0", port)).map_err(|e| Error::MoveListen { port, why: e.to_string() })?;
        listener.set_nonblocking(true).map_err(|e| Error::MoveListen { port, why: e.to_string() })?;
        let msg = self.message_id();
        let requester = self.clone();
        let (study, series) = (study_uid.to_string(), series_uid.to_string());
        let request = std::thread::spawn(move || requester.move_request(&study, &series, msg, port));
        // coxa listens on every interface: an instance of another series (a stray sender, a
        // PACS moving the wrong thing) is refused and fails the pull rather than land in it.
        let server = self.server();
        let mut checked = |file: Vec<u8>| -> Result<()> {
            let header = dicom_object::OpenFileOptions::new().read_until(tags::PIXEL_DATA).from_reader(&file[128..]);
            let got = header.ok().and_then(|h| get_str(&h, tags::SERIES_INSTANCE_UID)).unwrap_or_default();
            if got != series_uid {
                return Err(Error::Protocol { server: server.clone(), why: format!("C-MOVE: an instance of series {got:?} arrived while moving series {series_uid}") });
            }
            sink(file)
        };
        let mut n = 0usize;
        let mut failure = None;
        while !request.is_finished() {
            match listener.accept() {
                Ok((stream, _)) if failure.is_none() => match self.serve_store(stream, &mut checked) {
                    Ok(k) => n += k,
                    Err(e) => failure = Some(e),
                },
                // After a failure nothing more is kept: the PACS's connections are closed unanswered.
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => failure = failure.or(Some(Error::MoveListen { port, why: e.to_string() })),
            }
        }
        drop(listener);
        let outcome = request.join().map_err(|_| self.protocol("C-MOVE: the request thread stopped"))?;
        if let Some(e) = failure {
            return Err(e);
        }
        outcome.map(|()| n)
    }

    /// The C-MOVE request and its answers, up to the final one.
    fn move_request(mut self, study_uid: &str, series_uid: &str, msg: u16, port: u16) -> Result<()> {
        let during = "C-MOVE";
        let mv = uids::STUDY_ROOT_QUERY_RETRIEVE_INFORMATION_MODEL_MOVE;
        let opts = self.options().with_presentation_context(mv, vec![uids::EXPLICIT_VR_LITTLE_ENDIAN, uids::IMPLICIT_VR_LITTLE_ENDIAN]);
        let mut a = self.establish(opts, during)?;
        let (pc, ts) = accepted(&a, mv).ok_or_else(|| Error::RetrieveRefused { server: self.server(), how: "C-MOVE".into(), why: "the PACS does not offer C-MOVE (study root)".into() })?;
        self.next_id = msg;
        let destination = self.options.calling_aet.clone();
        let cmd = command(&[
            (tags::AFFECTED_SOP_CLASS_UID, VR::UI, PrimitiveValue::from(mv)),
            (tags::COMMAND_FIELD, VR::US, dicom_value!(U16, [C_MOVE_RQ])),
            (tags::MESSAGE_ID, VR::US, dicom_value!(U16, [msg])),
            (tags::MOVE_DESTINATION, VR::AE, PrimitiveValue::from(destination.as_str())),
            (tags::PRIORITY, VR::US, dicom_value!(U16, [0])),
            (tags::COMMAND_DATA_SET_TYPE, VR::US, dicom_value!(U16, [0x0000])),
        ])?;
        self.send(&mut a, pc, &cmd, Some(&encode(&series_identifier(study_uid, series_uid), &ts)?), during)?;
        let mut answered = false;
        loop {
            let (_, rsp, _) = match self.receive_or_release(&mut a, during)? {
                Received::Aborted(source) if !answered => return Err(self.refused_by_abort("C-MOVE", &source)),
                other => self.message(other, during)?,
            };
            answered = true;
            if field_of(&rsp) != C_MOVE_RSP {
                let _ = a.abort();
                return Err(self.protocol(format!("{during}: expected C-MOVE-RSP, got command 0x{:04X}", field_of(&rsp))));
            }
            match status_of(&rsp) {
                0xFF00 => {}
                0x0000 => break,
                s if u16_of(&rsp, tags::NUMBER_OF_COMPLETED_SUBOPERATIONS) == 0 && (s == 0xA801 || (0xC000..=0xCFFF).contains(&s)) => {
                    let _ = a.abort();
                    return Err(Error::MoveRefused { server: self.server(), status: s, meaning: status_meaning(s).into(), aet: destination, port });
                }
                s => {
                    let _ = a.abort();
                    return Err(self.retrieve_failed("C-MOVE", series_uid, &rsp, s));
                }
            }
        }
        self.release(a);
        Ok(())
    }

    /// One association of the PACS to coxa's storage SCP: C-STOREs (and C-ECHOs) until it is
    /// released. Returns the instances kept.
    fn serve_store(&self, stream: TcpStream, sink: &mut dyn FnMut(Vec<u8>) -> Result<()>) -> Result<usize> {
        let during = "C-MOVE (receiving)";
        stream.set_nonblocking(false).map_err(|e| self.protocol(format!("{during}: {e}")))?;
        let mut opts = ServerAssociationOptions::new()
            .accept_called_ae_title()
            .ae_title(self.options.calling_aet.clone())
            .max_pdu_length(65536)
            .read_timeout(self.options.timeout)
            .write_timeout(self.options.timeout)
            .with_abstract_syntax(uids::VERIFICATION);
        for class in RECEIVE_CLASSES {
            opts = opts.with_abstract_syntax(class);
        }
        for ts in RECEIVE_SYNTAXES {
            opts = opts.with_transfer_syntax(ts);
        }
        let mut a = opts.establish(stream).map_err(|e| self.ul_error(during, &e))?;
        let contexts: Vec<(u8, String)> = a.presentation_contexts().iter().map(|p| (p.id, trim_uid(&p.transfer_syntax).to_string())).collect();
        let mut n = 0usize;
        loop {
            let (pc, rq, ds) = match self.receive_or_release(&mut a, during)? {
                Received::Message(pc, rq, ds) => (pc, rq, ds),
                Received::Released => {
                    let _ = SyncAssociation::send(&mut a, &Pdu::ReleaseRP);
                    return Ok(n);
                }
                aborted => self.message(aborted, during)?,
            };
            match field_of(&rq) {
                C_STORE_RQ => {
                    if let Err(e) = self.store_sub_operation(&mut a, pc, &rq, ds, &contexts, sink, during) {
                        let _ = a.abort();
                        return Err(e);
                    }
                    n += 1;
                }
                C_ECHO_RQ => {
                    let reply = command(&[
                        (tags::AFFECTED_SOP_CLASS_UID, VR::UI, PrimitiveValue::from(uids::VERIFICATION)),
                        (tags::COMMAND_FIELD, VR::US, dicom_value!(U16, [C_ECHO_RSP])),
                        (tags::MESSAGE_ID_BEING_RESPONDED_TO, VR::US, dicom_value!(U16, [u16_of(&rq, tags::MESSAGE_ID)])),
                        (tags::COMMAND_DATA_SET_TYPE, VR::US, dicom_value!(U16, [NO_DATASET])),
                        (tags::STATUS, VR::US, dicom_value!(U16, [0x0000])),
                    ])?;
                    self.send(&mut a, pc, &reply, None, during)?;
                }
                other => {
                    let _ = a.abort();
                    return Err(self.protocol(format!("{during}: unexpected command 0x{other:04X} from the PACS")));
                }
            }
        }
    }
}
