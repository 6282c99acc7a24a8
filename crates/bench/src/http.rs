//! A minimal HTTP/1.1 client over one keep-alive TCP connection: writes a request,
//! reads the status and a `Content-Length` body. Load generation with it costs a
//! fraction of what a general client costs, so the client is less of a bottleneck on
//! a 2-core machine where it shares the CPU with the server.

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One keep-alive connection.
pub struct HttpConn {
    addr: SocketAddr,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
    request: Vec<u8>,
}

/// A response: its status and body.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The body bytes.
    pub body: Vec<u8>,
}

fn bad(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

/// Where the header block ends (the index after `\r\n\r\n`).
fn header_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// Parses a response head: status, `Content-Length`, and whether the server closes.
fn parse_head(head: &[u8]) -> io::Result<(u16, usize, bool)> {
    let text = std::str::from_utf8(head).map_err(|_| bad("response head is not UTF-8"))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad(format!("bad status line {status_line:?}")))?;
    let mut length = None;
    let mut close = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = value.parse().ok();
        } else if name.eq_ignore_ascii_case("connection") && value.eq_ignore_ascii_case("close") {
            close = true;
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(bad(
                "chunked responses are not supported by the bench client",
            ));
        }
    }
    Ok((status, length.unwrap_or(0), close))
}

impl HttpConn {
    /// A connection to `addr`, opened on first use.
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            stream: None,
            buf: Vec::with_capacity(16 * 1024),
            request: Vec::with_capacity(16 * 1024),
        }
    }

    /// Sends one request and reads its response. A broken connection is reopened on
    /// the next call.
    pub async fn request(&mut self, method: &str, path: &str, body: &[u8]) -> io::Result<Response> {
        let result = self.exchange(method, path, body).await;
        if result.is_err() {
            self.stream = None;
        }
        result
    }

    async fn exchange(&mut self, method: &str, path: &str, body: &[u8]) -> io::Result<Response> {
        if self.stream.is_none() {
            let stream = TcpStream::connect(self.addr).await?;
            stream.set_nodelay(true)?;
            self.stream = Some(stream);
            self.buf.clear();
        }
        let Some(stream) = self.stream.as_mut() else {
            return Err(bad("no connection"));
        };
        self.request.clear();
        self.request.extend_from_slice(method.as_bytes());
        self.request.push(b' ');
        self.request.extend_from_slice(path.as_bytes());
        self.request
            .extend_from_slice(b" HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        if !body.is_empty() || method != "GET" {
            self.request
                .extend_from_slice(b"Content-Type: application/json\r\nContent-Length: ");
            self.request
                .extend_from_slice(body.len().to_string().as_bytes());
            self.request.extend_from_slice(b"\r\n");
        }
        self.request.extend_from_slice(b"\r\n");
        self.request.extend_from_slice(body);
        stream.write_all(&self.request).await?;

        let head_len = loop {
            if let Some(end) = header_end(&self.buf) {
                break end;
            }
            if stream.read_buf(&mut self.buf).await? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed before a response",
                ));
            }
        };
        let (status, length, close) = parse_head(&self.buf[..head_len])?;
        while self.buf.len() < head_len + length {
            self.buf.reserve(head_len + length - self.buf.len());
            if stream.read_buf(&mut self.buf).await? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed inside a response body",
                ));
            }
        }
        let body = self.buf[head_len..head_len + length].to_vec();
        self.buf.drain(..head_len + length);
        if close {
            self.stream = None;
        }
        Ok(Response { status, body })
    }
}

/// One request on a fresh connection (set-up and checks, not load).
pub async fn once(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> io::Result<Response> {
    HttpConn::new(addr).request(method, path, body).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_response_head() {
        let head =
            b"HTTP/1.1 201 Created\r\ncontent-length: 42\r\ncontent-type: application/json\r\n\r\n";
        assert_eq!(header_end(head), Some(head.len()));
        assert_eq!(parse_head(head).expect("parses"), (201, 42, false));
        let closing = b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n";
        assert_eq!(parse_head(closing).expect("parses"), (503, 0, true));
        assert!(parse_head(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n").is_err());
    }
}
