//! The client's side of a socket: the frames it sends, read straight off the stream
//! the upgrade service took over ([`super::upgrade`]) and decoded with actix-http's
//! WebSocket codec.
//!
//! Why not actix-ws: its `handle` also makes the server's side (a 32-slot channel, a
//! oneshot and a boxed body: 1.9 KiB per socket before a frame is sent), and the server's
//! side of this socket is [`super::body::Writer`]. This reader holds the stream, a
//! buffer that holds only a frame not yet complete (no allocation while the socket is
//! idle), and the codec: a read lands on the stack first and is copied into the buffer
//! only for what it brought.

use std::io;

use actix_codec::Decoder;
use actix_http::ws::{Codec, Frame, Item, ProtocolError};
use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use tokio::net::TcpStream;

/// Bytes read from the stream per `read` at most (a stack buffer).
const READ_CHUNK: usize = 4096;

/// A frame from the client.
#[derive(Debug)]
pub enum Message {
    /// A text frame (valid UTF-8).
    Text(ByteString),
    /// A binary frame.
    Binary(Bytes),
    /// A fragment of a fragmented message.
    Continuation(Item),
    /// A ping, to be answered with a pong carrying the same bytes.
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
    /// The client's close frame.
    Close,
}

/// Reads the client's frames off the socket's stream.
pub struct Inbound<'a> {
    stream: &'a TcpStream,
    buf: BytesMut,
    codec: Codec,
    ended: bool,
}

impl<'a> Inbound<'a> {
    /// Reads frames of at most `max_frame_bytes` from `stream`, after those in
    /// `already_read` (bytes the HTTP side read past the upgrade request).
    pub fn new(stream: &'a TcpStream, already_read: BytesMut, max_frame_bytes: usize) -> Self {
        Self {
            stream,
            buf: already_read,
            codec: Codec::new().max_size(max_frame_bytes),
            ended: false,
        }
    }

    /// The next frame; `None` once the connection is closed, an error for a frame
    /// that breaks the protocol (too large, masked wrongly, not UTF-8 text), after
    /// which the stream ends.
    pub async fn recv(&mut self) -> Option<Result<Message, ProtocolError>> {
        loop {
            match self.decode() {
                Ok(Some(message)) => return Some(Ok(message)),
                Ok(None) => {}
                Err(e) => {
                    self.ended = true;
                    return Some(Err(e));
                }
            }
            if self.ended {
                return None;
            }
            if let Err(e) = self.stream.readable().await {
                self.ended = true;
                return Some(Err(ProtocolError::Io(e)));
            }
            match self.read() {
                Ok(0) => self.ended = true,
                Ok(_) => {}
                // A spurious readiness: wait again.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => {
                    self.ended = true;
                    return Some(Err(ProtocolError::Io(e)));
                }
            }
        }
    }

    /// Reads what the stream has (up to [`READ_CHUNK`]) onto the buffer's end.
    fn read(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; READ_CHUNK];
        let read = self.stream.try_read(&mut chunk)?;
        self.buf.extend_from_slice(&chunk[..read]);
        Ok(read)
    }

    fn decode(&mut self) -> Result<Option<Message>, ProtocolError> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        let frame = self.codec.decode(&mut self.buf)?;
        if self.buf.is_empty() && self.buf.capacity() > 0 {
            // An idle socket keeps no read buffer.
            self.buf = BytesMut::new();
        }
        frame
            .map(|frame| match frame {
                Frame::Text(bytes) => ByteString::try_from(bytes)
                    .map(Message::Text)
                    .map_err(|e| ProtocolError::Io(io::Error::new(io::ErrorKind::InvalidData, e))),
                Frame::Binary(bytes) => Ok(Message::Binary(bytes)),
                Frame::Continuation(item) => Ok(Message::Continuation(item)),
                Frame::Ping(bytes) => Ok(Message::Ping(bytes)),
                Frame::Pong(bytes) => Ok(Message::Pong(bytes)),
                Frame::Close(_) => Ok(Message::Close),
            })
            .transpose()
    }
}
