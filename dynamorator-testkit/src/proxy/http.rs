//! Just enough HTTP/1.1 to find where a request or a response ends: headers, then a body of
//! `Content-Length` bytes or chunks. Bounded, so a broken peer cannot make it buffer without end.

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

/// Larger messages are refused (DynamoDB's own limits are far below).
const MAX_MESSAGE: usize = 64 * 1024 * 1024;
const MAX_HEADER: usize = 64 * 1024;

/// Reads one whole message (request or response) as raw bytes; `None` at a clean end of stream.
pub(crate) async fn read_message<R: AsyncBufRead + Unpin>(
    reader: &mut R,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut message = Vec::with_capacity(1024);
    // Headers, line by line, up to the blank line.
    loop {
        let before = message.len();
        let read = (&mut *reader)
            .take((MAX_HEADER + 1) as u64)
            .read_until(b'\n', &mut message)
            .await?;
        if read == 0 {
            return if before == 0 {
                Ok(None)
            } else {
                Err(invalid("stream ended inside the headers"))
            };
        }
        if message.len() > MAX_HEADER {
            return Err(invalid("headers too long"));
        }
        if &message[before..] == b"\r\n" || &message[before..] == b"\n" {
            break;
        }
    }
    let headers = String::from_utf8_lossy(&message).to_ascii_lowercase();
    if let Some(length) = header(&headers, "content-length") {
        let length: usize = length.parse().map_err(|_| invalid("bad content-length"))?;
        if length > MAX_MESSAGE {
            return Err(invalid("body too large"));
        }
        let start = message.len();
        message.resize(start + length, 0);
        reader.read_exact(&mut message[start..]).await?;
    } else if header(&headers, "transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        read_chunks(reader, &mut message).await?;
    }
    Ok(Some(message))
}

async fn read_chunks<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    message: &mut Vec<u8>,
) -> std::io::Result<()> {
    loop {
        let start = message.len();
        reader.read_until(b'\n', message).await?;
        let line = String::from_utf8_lossy(&message[start..]).trim().to_owned();
        let size = usize::from_str_radix(line.split(';').next().unwrap_or(""), 16)
            .map_err(|_| invalid("bad chunk size"))?;
        if message.len() + size > MAX_MESSAGE {
            return Err(invalid("body too large"));
        }
        // The chunk and its CRLF; the last (empty) chunk is followed by trailers and a blank line.
        let body = message.len();
        message.resize(body + size, 0);
        reader.read_exact(&mut message[body..]).await?;
        if size == 0 {
            loop {
                let line = message.len();
                if reader.read_until(b'\n', message).await? == 0 {
                    return Ok(());
                }
                if message[line..].iter().all(|b| *b == b'\r' || *b == b'\n') {
                    return Ok(());
                }
            }
        }
        reader.read_until(b'\n', message).await?;
    }
}

fn header<'a>(headers: &'a str, name: &str) -> Option<&'a str> {
    headers.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim() == name).then(|| value.trim())
    })
}

fn invalid(message: &'static str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message)
}

/// A complete HTTP/1.1 response with a JSON body, as DynamoDB sends its errors.
pub(crate) fn json_response(status: u16, reason: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/x-amz-json-1.0\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn parse(raw: &[u8]) -> Vec<Vec<u8>> {
        let mut reader = tokio::io::BufReader::new(raw);
        let mut out = Vec::new();
        while let Some(message) = read_message(&mut reader).await.unwrap() {
            out.push(message);
        }
        out
    }

    #[tokio::test]
    async fn frames_content_length_and_chunked_messages() {
        let one = b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}";
        let two = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n";
        let mut both = one.to_vec();
        both.extend_from_slice(two);
        let messages = parse(&both).await;
        assert_eq!(messages, vec![one.to_vec(), two.to_vec()]);
    }

    #[tokio::test]
    async fn a_truncated_message_is_an_error() {
        let mut reader =
            tokio::io::BufReader::new(&b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n{}"[..]);
        assert!(read_message(&mut reader).await.is_err());
    }
}
