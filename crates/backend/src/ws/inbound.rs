//! The client's side of a socket: the frames it sends, decoded from the upgraded
//! request's payload with actix-http's WebSocket codec.
//!
//! Why not actix-ws: its `handle` also makes the server's side (a 32-slot channel, a
//! oneshot and a boxed body: 1.9 KiB per socket before a frame is sent), and the server's
//! side of this socket is [`super::body::SocketBody`]; actix-ws's reader cannot be made
//! without it. This reader holds the payload, a buffer that is empty (no allocation)
//! while the socket is idle, and the codec.

use std::io;

use actix_codec::Decoder;
use actix_http::ws::{Codec, Frame, Item, ProtocolError};
use actix_web::dev::Payload;
use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use futures_util::StreamExt;

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

/// Reads the client's frames off the upgraded request's payload.
pub struct Inbound {
    payload: Payload,
    buf: BytesMut,
    codec: Codec,
    ended: bool,
}

impl Inbound {
    /// Reads frames of at most `max_frame_bytes` from `payload`.
    pub fn new(payload: Payload, max_frame_bytes: usize) -> Self {
        Self {
            payload,
            buf: BytesMut::new(),
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
            match self.payload.next().await {
                Some(Ok(bytes)) => {
                    if self.buf.is_empty() {
                        // No copy when nothing is buffered.
                        self.buf = BytesMut::from(bytes);
                    } else {
                        self.buf.extend_from_slice(&bytes);
                    }
                }
                Some(Err(e)) => {
                    self.ended = true;
                    return Some(Err(ProtocolError::Io(io::Error::other(e))));
                }
                None => self.ended = true,
            }
        }
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
