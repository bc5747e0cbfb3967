//! DICOMweb client (PS3.18): QIDO-RS search, WADO-RS retrieve, STOW-RS store, over `ureq`.
//!
//! Over https the PACS's certificate must chain to the public web roots (Mozilla's, from
//! `webpki-root-certs`) or to a CA of the bundle the user names (a hospital's own CA). A bearer
//! token, when given, goes with every request; a 401/403 says which token source to fix.
//!
//! The multipart/related bodies of WADO-RS and STOW-RS are split and built here (a few dozen
//! lines): the crates that parse multipart on crates.io are written for form data
//! (`multipart/form-data`) or for async servers, not for a blocking client reading
//! `multipart/related; type="application/dicom"`.

use std::io::Read;

use serde_json::Value;

use crate::server::{ConnectOptions, FindQuery, Pacs, SeriesMatch, StoreReport, StudyMatch};
use crate::{Error, Result};

/// A DICOMweb client for one service root.
pub struct WebClient {
    base: String,
    agent: ureq::Agent,
    options: ConnectOptions,
}

impl WebClient {
    /// A client for the service root `base` (e.g. `http://127.0.0.1:8042/dicom-web`).
    ///
    /// # Errors
    /// [`Error::CaBundle`]: the `ca_bundle` file cannot be read or holds no certificate.
    pub fn new(base: &str, options: &ConnectOptions) -> Result<Self> {
        let config = ureq::Agent::config_builder()
            .timeout_connect(Some(options.timeout))
            .timeout_recv_response(Some(options.timeout))
            .timeout_recv_body(Some(options.timeout))
            .timeout_send_body(Some(options.timeout))
            .http_status_as_error(false)
            .tls_config(tls_config(options.ca_bundle.as_deref())?)
            .build();
        Ok(Self { base: base.trim_end_matches('/').to_string(), agent: config.into(), options: options.clone() })
    }

    /// The request with the bearer token, when there is one.
    fn auth<B>(&self, request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match &self.options.token {
            Some(t) => request.header("Authorization", &format!("Bearer {}", t.expose())),
            None => request,
        }
    }

    /// The TLS error of `e`, if it is one (ureq passes rustls's errors inside I/O errors).
    fn tls(&self, e: &ureq::Error) -> Option<Error> {
        let rustls_error = match e {
            ureq::Error::Rustls(r) => Some(r),
            ureq::Error::Io(io) => io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()),
            _ => None,
        }?;
        let fix = match (&self.options.ca_bundle, rustls_error) {
            (None, rustls::Error::InvalidCertificate(_)) => "if the hospital signs its servers with its own CA, give that CA's certificate (PEM) with --ca-bundle FILE".to_string(),
            (Some(b), rustls::Error::InvalidCertificate(_)) => {
                format!("the CA bundle {} does not hold the CA that signed it: give --ca-bundle the certificate of the CA that signs the PACS's certificate", b.display())
            }
            _ => "check that the address is the PACS's https port and that its TLS set-up is valid".to_string(),
        };
        Some(Error::Tls { server: self.server(), why: rustls_error.to_string(), fix })
    }

    fn server(&self) -> String {
        crate::Address::Web { base: self.base.clone() }.display()
    }

    fn transport(&self, what: &str, e: ureq::Error) -> Error {
        if let Some(tls) = self.tls(&e) {
            return tls;
        }
        match e {
            ureq::Error::Timeout(_) => Error::Timeout { server: self.server(), timeout_s: self.options.timeout.as_secs(), during: what.to_string() },
            ureq::Error::Io(io) if matches!(io.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock) => {
                Error::Timeout { server: self.server(), timeout_s: self.options.timeout.as_secs(), during: what.to_string() }
            }
            ureq::Error::Io(io) if matches!(io.kind(), std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted) => {
                Error::Protocol { server: self.server(), why: format!("the connection closed during {what} ({io})") }
            }
            ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => Error::Unreachable { server: self.server(), why: e.to_string() },
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => Error::Unreachable { server: self.server(), why: io.to_string() },
            other => Error::Protocol { server: self.server(), why: format!("{what}: {other}") },
        }
    }

    /// GET returning JSON (QIDO-RS). 204 and an empty body are an empty list.
    fn get_json(&self, what: &str, url: &str) -> Result<Vec<Value>> {
        let mut resp = self.auth(self.agent.get(url)).header("Accept", "application/dicom+json").call().map_err(|e| self.transport(what, e))?;
        let status = resp.status().as_u16();
        let body = resp.body_mut().with_config().limit(256 << 20).read_to_vec().map_err(|e| self.transport(what, e))?;
        if status == 204 || (status == 404 && what.contains("series")) {
            return Ok(Vec::new());
        }
        if !(200..300).contains(&status) {
            return Err(self.http(what, status, &body));
        }
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Vec::new());
        }
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Array(a)) => Ok(a),
            Ok(_) => Err(Error::Protocol { server: self.server(), why: format!("{what}: the answer is not a JSON array") }),
            Err(e) => Err(Error::Protocol { server: self.server(), why: format!("{what}: the answer is not DICOM JSON ({e})") }),
        }
    }

    fn http(&self, what: &str, status: u16, body: &[u8]) -> Error {
        if status == 401 || status == 403 {
            let fix = match (&self.options.token, &self.options.token_source) {
                (None, _) => "the PACS wants a bearer token: put it in a file named with --token-file FILE, or in the environment variable COXA_PACS_TOKEN".to_string(),
                (Some(_), source) => {
                    format!("the PACS did not accept the bearer token from {} (wrong or expired): put a valid token there", source.as_deref().unwrap_or("--token-file or COXA_PACS_TOKEN"))
                }
            };
            let meaning = if status == 401 { "unauthorized" } else { "forbidden" };
            return Error::Unauthorized { server: self.server(), what: what.to_string(), status, meaning: meaning.into(), fix };
        }
        let text = String::from_utf8_lossy(&body[..body.len().min(300)]).replace(['\n', '\r'], " ");
        Error::Http { server: self.server(), what: what.to_string(), status, body: text.trim().to_string() }
    }
}

fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~*".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// First value of a DICOM JSON attribute as a string (PN: its Alphabetic form).
fn jstr(obj: &Value, tag: &str) -> Option<String> {
    let v = obj.get(tag)?.get("Value")?.get(0)?;
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Object(o) => o.get("Alphabetic").and_then(Value::as_str).map(str::to_string),
        _ => None,
    }
}

fn jall(obj: &Value, tag: &str) -> Vec<String> {
    obj.get(tag).and_then(|a| a.get("Value")).and_then(Value::as_array).map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()).unwrap_or_default()
}

fn jnum(obj: &Value, tag: &str) -> Option<i64> {
    jstr(obj, tag).and_then(|s| s.trim().parse().ok())
}

impl Pacs for WebClient {
    fn server(&self) -> String {
        WebClient::server(self)
    }

    fn find_studies(&mut self, q: &FindQuery) -> Result<Vec<StudyMatch>> {
        let mut params = vec!["includefield=00201206".to_string(), "includefield=00201208".to_string(), "includefield=00080061".to_string()];
        for (key, v) in [("PatientID", &q.patient_id), ("AccessionNumber", &q.accession), ("StudyDate", &q.study_date), ("ModalitiesInStudy", &q.modality), ("StudyInstanceUID", &q.study_uid)] {
            if let Some(v) = v {
                params.push(format!("{key}={}", enc(v)));
            }
        }
        let url = format!("{}/studies?{}", self.base, params.join("&"));
        let found = self.get_json("QIDO-RS study search", &url)?;
        Ok(found
            .iter()
            .filter_map(|o| {
                Some(StudyMatch {
                    study_uid: jstr(o, "0020000D")?,
                    study_date: jstr(o, "00080020"),
                    modalities: jall(o, "00080061"),
                    n_series: jnum(o, "00201206").and_then(|n| u32::try_from(n).ok()),
                    n_instances: jnum(o, "00201208").and_then(|n| u32::try_from(n).ok()),
                    patient_name: jstr(o, "00100010"),
                    patient_id: jstr(o, "00100020"),
                    accession: jstr(o, "00080050"),
                })
            })
            .collect())
    }

    fn find_series(&mut self, study_uid: &str) -> Result<Vec<SeriesMatch>> {
        let url = format!("{}/studies/{}/series?includefield=00201209", self.base, enc(study_uid));
        let found = self.get_json("QIDO-RS series search", &url)?;
        Ok(found
            .iter()
            .filter_map(|o| {
                Some(SeriesMatch {
                    study_uid: study_uid.to_string(),
                    series_uid: jstr(o, "0020000E")?,
                    modality: jstr(o, "00080060").unwrap_or_default(),
                    series_number: jnum(o, "00200011"),
                    n_instances: jnum(o, "00201209").and_then(|n| u32::try_from(n).ok()),
                })
            })
            .collect())
    }

    fn retrieve_series(&mut self, study_uid: &str, series_uid: &str, sink: &mut dyn FnMut(Vec<u8>) -> Result<()>) -> Result<usize> {
        let what = "WADO-RS series retrieve";
        let url = format!("{}/studies/{}/series/{}", self.base, enc(study_uid), enc(series_uid));
        // transfer-syntax=*: the instances as stored, so the pixels arrive bit for bit.
        let mut resp = self.auth(self.agent.get(&url)).header("Accept", "multipart/related; type=\"application/dicom\"; transfer-syntax=*").call().map_err(|e| self.transport(what, e))?;
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            let body = resp.body_mut().with_config().limit(1 << 20).read_to_vec().unwrap_or_default();
            if status == 404 {
                return Err(Error::StudyNotFound { server: self.server(), study: study_uid.to_string() });
            }
            if status == 401 || status == 403 {
                return Err(self.http(what, status, &body));
            }
            return Err(self.http(what, status, &body));
        }
        let ctype = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let boundary = boundary_of(&ctype).ok_or_else(|| Error::Protocol { server: self.server(), why: format!("{what}: no multipart boundary in Content-Type {ctype:?}") })?;
        let limit = self.options.max_instance_bytes;
        let mut reader = resp.body_mut().with_config().limit(u64::MAX).reader();
        let server = self.server();
        let timeout_s = self.options.timeout.as_secs();
        let mut n = 0usize;
        read_multipart(&mut reader, &boundary, limit, &mut |part| {
            n += 1;
            sink(part)
        })
        .map_err(|e| match e {
            PartError::Io(io) if matches!(io.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock) => Error::Timeout { server: server.clone(), timeout_s, during: what.to_string() },
            PartError::Io(io) => Error::Protocol { server: server.clone(), why: format!("{what}: the transfer broke off after {n} instances ({io})") },
            PartError::Format(why) => Error::Protocol { server: server.clone(), why: format!("{what}: {why} after {n} instances") },
            PartError::Sink(e) => e,
        })?;
        Ok(n)
    }

    fn echo(&mut self) -> Result<()> {
        self.get_json("QIDO-RS study search (limit=1)", &format!("{}/studies?limit=1", self.base)).map(drop)
    }

    fn store(&mut self, files: &[Vec<u8>]) -> Result<StoreReport> {
        let what = "STOW-RS store";
        let boundary = format!("coxa-{:016x}", files.iter().map(Vec::len).sum::<usize>() as u64 ^ 0x9e37_79b9_7f4a_7c15);
        let mut body = Vec::new();
        for f in files {
            body.extend_from_slice(format!("--{boundary}\r\nContent-Type: application/dicom\r\n\r\n").as_bytes());
            body.extend_from_slice(f);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let url = format!("{}/studies", self.base);
        let mut resp = self
            .auth(self.agent.post(&url))
            .header("Content-Type", &format!("multipart/related; type=\"application/dicom\"; boundary={boundary}"))
            .header("Accept", "application/dicom+json")
            .send(&body[..])
            .map_err(|e| self.transport(what, e))?;
        let status = resp.status().as_u16();
        let answer = resp.body_mut().with_config().limit(64 << 20).read_to_vec().map_err(|e| self.transport(what, e))?;
        if status == 401 || status == 403 {
            return Err(self.http(what, status, &answer));
        }
        let json: Option<Value> = serde_json::from_slice(&answer).ok();
        let count = |tag: &str| json.as_ref().and_then(|j| j.get(tag)).and_then(|s| s.get("Value")).and_then(Value::as_array).map_or(0, Vec::len);
        let (stored, failed) = (count("00081199"), count("00081198"));
        if !(200..300).contains(&status) || failed > 0 {
            let why = if failed > 0 { format!("HTTP {status}, {failed} in FailedSOPSequence") } else { format!("HTTP {status}: {}", String::from_utf8_lossy(&answer[..answer.len().min(200)])) };
            return Err(Error::StoreFailed { server: self.server(), failed: failed.max(files.len() - stored.min(files.len())), total: files.len(), why });
        }
        let mut warnings = Vec::new();
        if status == 202 {
            warnings.push("HTTP 202: stored with warnings".to_string());
        }
        Ok(StoreReport { sent: files.len(), stored, warnings })
    }
}

/// The TLS set-up: the public web roots, and with a CA bundle its certificates as well.
fn tls_config(bundle: Option<&std::path::Path>) -> Result<ureq::tls::TlsConfig> {
    let Some(path) = bundle else { return Ok(ureq::tls::TlsConfig::default()) };
    let bad = |why: String| Error::CaBundle { path: path.to_path_buf(), why };
    let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => certs.push(c),
            Ok(_) => {}
            Err(e) => return Err(bad(format!("not PEM ({e})"))),
        }
    }
    if certs.is_empty() {
        return Err(bad("it holds no certificate (-----BEGIN CERTIFICATE-----)".into()));
    }
    certs.extend(webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().map(|c| ureq::tls::Certificate::from_der(c.as_ref()).to_owned()));
    Ok(ureq::tls::TlsConfig::builder().root_certs(ureq::tls::RootCerts::new_with_certs(&certs)).build())
}

/// The `boundary` parameter of a multipart Content-Type.
pub(crate) fn boundary_of(ctype: &str) -> Option<String> {
    ctype.split(';').map(str::trim).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim().eq_ignore_ascii_case("boundary").then(|| v.trim().trim_matches('"').to_string())
    })
}

pub(crate) enum PartError {
    Io(std::io::Error),
    Format(String),
    Sink(Error),
}

/// Reads a multipart body part by part (each part's bytes whole in memory, at most `limit`),
/// calling `each` per part. A body that ends before its closing boundary is an error: a part is
/// only delivered once the boundary after it has arrived.
pub(crate) fn read_multipart(r: &mut dyn Read, boundary: &str, limit: u64, each: &mut dyn FnMut(Vec<u8>) -> Result<()>) -> Result<(), PartError> {
    let delim = format!("\r\n--{boundary}").into_bytes();
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 1 << 16];
    let mut eof = false;
    // Prefix so the first boundary (which may start without CRLF) matches the same delimiter.
    buf.extend_from_slice(b"\r\n");
    let mut started = false;
    // Bytes before this offset hold no delimiter start (searched already).
    let mut searched = 0usize;
    loop {
        if let Some(pos) = find(&buf[searched..], &delim).map(|p| p + searched) {
            let after = pos + delim.len();
            // Need two more bytes to tell "--" (end) from CRLF (next part).
            if buf.len() >= after + 2 {
                if started {
                    let part = &buf[..pos];
                    let Some(hdr_end) = find(part, b"\r\n\r\n") else {
                        return Err(PartError::Format("a multipart part without headers".into()));
                    };
                    each(part[hdr_end + 4..].to_vec()).map_err(PartError::Sink)?;
                }
                if &buf[after..after + 2] == b"--" {
                    return Ok(());
                }
                started = true;
                // Skip the CRLF after the boundary line (and any transport padding).
                let line_end = find(&buf[after..], b"\r\n").map_or(buf.len(), |e| after + e + 2);
                buf.drain(..line_end);
                searched = 0;
                continue;
            }
            searched = pos;
        } else {
            searched = buf.len().saturating_sub(delim.len());
        }
        if eof {
            return Err(PartError::Format(if started { "the multipart body ended before its closing boundary".into() } else { "no multipart boundary in the body".into() }));
        }
        if buf.len() as u64 > limit.saturating_add(delim.len() as u64 + 4096) {
            return Err(PartError::Format(format!("a part larger than the {limit}-byte limit")));
        }
        let n = r.read(&mut chunk).map_err(PartError::Io)?;
        if n == 0 {
            eof = true;
        } else {
            buf.extend_from_slice(&chunk[..n]);
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(body: &[u8]) -> std::result::Result<Vec<Vec<u8>>, String> {
        let mut out = Vec::new();
        let mut r = body;
        read_multipart(&mut r, "b0", 1 << 20, &mut |p| {
            out.push(p);
            Ok(())
        })
        .map_err(|e| match e {
            PartError::Format(s) => s,
            PartError::Io(e) => e.to_string(),
            PartError::Sink(e) => e.to_string(),
        })?;
        Ok(out)
    }

    #[test]
    fn multipart_whole_and_cut() {
        let body = b"--b0\r\nContent-Type: application/dicom\r\n\r\nAAA\r\n--b0\r\nContent-Type: application/dicom\r\n\r\nB\r\n\r\nB\r\n--b0--\r\n";
        assert_eq!(parts(body).unwrap(), vec![b"AAA".to_vec(), b"B\r\n\r\nB".to_vec()]);
        // Cut inside the second part: the first is delivered, then the error.
        let cut = &body[..body.len() - 15];
        let e = parts(cut).unwrap_err();
        assert!(e.contains("ended before its closing boundary"), "{e}");
        assert_eq!(boundary_of("multipart/related; type=\"application/dicom\"; boundary=\"xy z\"").as_deref(), Some("xy z"));
    }
}
