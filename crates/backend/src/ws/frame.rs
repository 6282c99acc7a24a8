//! WebSocket frames as the server sends them (RFC 6455 section 5.2: final, unmasked):
//! text frames for every message, written once and shared by every recipient (the
//! hub's live frames) or appended to a replay's chunk, and the control frames (ping,
//! pong, close).

use bytes::Bytes;

/// Control frames carry at most this many bytes (RFC 6455 section 5.5).
const MAX_CONTROL_PAYLOAD: usize = 125;

/// A ping frame (empty).
pub fn ping_frame() -> Bytes {
    Bytes::from_static(&[0x89, 0x00])
}

/// A pong frame answering a ping that carried `payload` (cut to 125 bytes).
pub fn pong_frame(payload: &[u8]) -> Bytes {
    control_frame(0x8a, &[&payload[..payload.len().min(MAX_CONTROL_PAYLOAD)]])
}

/// A close frame: the code and its description (cut to fit 125 bytes at a character
/// boundary), or no payload at all.
pub fn close_frame(code: Option<u16>, description: &str) -> Bytes {
    let Some(code) = code else {
        return control_frame(0x88, &[]);
    };
    let mut end = description.len().min(MAX_CONTROL_PAYLOAD - 2);
    while !description.is_char_boundary(end) {
        end -= 1;
    }
    control_frame(0x88, &[&code.to_be_bytes(), &description.as_bytes()[..end]])
}

fn control_frame(first: u8, parts: &[&[u8]]) -> Bytes {
    let len: usize = parts.iter().map(|part| part.len()).sum();
    let mut frame = Vec::with_capacity(len + 2);
    frame.push(first);
    // Callers keep control payloads within 125 bytes: one length byte.
    frame.push(len as u8);
    for part in parts {
        frame.extend_from_slice(part);
    }
    Bytes::from(frame)
}

/// A WebSocket text frame (server to client: final, unmasked) carrying `payload`.
pub fn text_frame(payload: &[&str]) -> Bytes {
    let len: usize = payload.iter().map(|part| part.len()).sum();
    let mut frame = Vec::with_capacity(len + 10);
    append_text_frame(&mut frame, payload);
    Bytes::from(frame)
}

/// Appends a WebSocket text frame (server to client: final, unmasked) carrying
/// `payload` to `frame`.
pub fn append_text_frame(frame: &mut Vec<u8>, payload: &[&str]) {
    let len: usize = payload.iter().map(|part| part.len()).sum();
    frame.reserve(len + 10);
    frame.push(0x81);
    if len < 126 {
        frame.push(len as u8);
    } else if let Ok(short) = u16::try_from(len) {
        frame.push(126);
        frame.extend_from_slice(&short.to_be_bytes());
    } else {
        frame.push(127);
        frame.extend_from_slice(&(len as u64).to_be_bytes());
    }
    for part in payload {
        frame.extend_from_slice(part.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads a server frame's header as RFC 6455 section 5.2 defines it.
    fn decode(frame: &[u8]) -> (u8, usize, &[u8]) {
        assert_eq!(frame[1] & 0x80, 0, "server frames are not masked");
        let (len, at) = match frame[1] & 0x7f {
            126 => (u16::from_be_bytes([frame[2], frame[3]]) as usize, 4),
            127 => {
                let mut be = [0u8; 8];
                be.copy_from_slice(&frame[2..10]);
                (u64::from_be_bytes(be) as usize, 10)
            }
            short => (short as usize, 2),
        };
        (frame[0], len, &frame[at..])
    }

    #[test]
    fn control_frames_stay_within_125_bytes() {
        let close = close_frame(Some(1000), &"é".repeat(100));
        let (first, len, payload) = decode(&close);
        assert_eq!(first, 0x88);
        assert!(len <= 125 && len == payload.len());
        assert_eq!(&payload[..2], &1000u16.to_be_bytes());
        assert!(
            std::str::from_utf8(&payload[2..]).is_ok(),
            "cut at a char boundary"
        );
        assert_eq!(&close_frame(None, "ignored")[..], &[0x88, 0x00]);
        let pong = pong_frame(&[7u8; 200]);
        let (first, len, _) = decode(&pong);
        assert_eq!((first, len), (0x8a, 125));
        assert_eq!(&ping_frame()[..], &[0x89, 0x00]);
    }

    #[test]
    fn frames_carry_their_text_in_every_length_class() {
        for len in [0usize, 1, 125, 126, 65_535, 65_536, 200_000] {
            let text = "x".repeat(len.saturating_sub(1));
            let frame = text_frame(&["{", &text]);
            let (first, decoded_len, payload) = decode(&frame);
            assert_eq!(first, 0x81, "final text frame");
            assert_eq!(decoded_len, len.max(1));
            assert_eq!(payload.len(), len.max(1));
            assert_eq!(payload[0], b'{');
        }
    }
}
