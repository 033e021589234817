//! `ConnRef<'a>`: a connection borrowed from the object that owns it (a cosocket's
//! `PeerConn` or `UdpConn`). It lives only while that owner is borrowed, so it cannot be used
//! after the owner closes the connection; it derefs to `Conn` for the connection's
//! operations.

use std::marker::PhantomData;
use std::ops::Deref;

use super::conn::Conn;
use super::conn_connect::PeerConn;
use super::udp::UdpConn;

#[derive(Clone, Copy)]
pub struct ConnRef<'a> {
    conn: Conn,
    _owner: PhantomData<&'a ()>,
}

impl Deref for ConnRef<'_> {
    type Target = Conn;

    fn deref(&self) -> &Conn {
        &self.conn
    }
}

impl PeerConn {
    /// The connection, borrowed from its owner.
    pub fn conn_ref(&self) -> ConnRef<'_> {
        ConnRef { conn: self.0, _owner: PhantomData }
    }
}

impl UdpConn {
    /// The connection, borrowed from its owner.
    pub fn conn_ref(&self) -> ConnRef<'_> {
        ConnRef { conn: self.0, _owner: PhantomData }
    }
}
