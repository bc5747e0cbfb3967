//! Opening a client: the protocol an [`Address`] names picks the client. Apart from the
//! addresses and the [`Pacs`] trait ([`crate::server`]) so that the clients, which use those, and
//! this choice among them depend one way.

use crate::Result;
use crate::dicomweb::WebClient;
use crate::dimse::DimseClient;
use crate::server::{Address, ConnectOptions, Pacs};

/// Opens a client for `address`.
pub fn connect(address: &Address, options: &ConnectOptions) -> Result<Box<dyn Pacs>> {
    Ok(match address {
        Address::Web { base } => Box::new(WebClient::new(base, options)?),
        Address::Dimse { called_aet, host, port } => Box::new(DimseClient::new(called_aet, host, *port, options)),
    })
}
