//! A small keep-alive HTTP/1.1 client over a tokio `TcpStream`.
//!
//! It writes one request, reads one response (status line, headers and a
//! `Content-Length` or chunked body) and keeps the connection for the next
//! request. It is deliberately minimal so that a 2-core machine can drive a
//! server with it: no allocation per request once the buffers have grown.

use std::fmt;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest response head accepted, in bytes.
const MAX_HEAD: usize = 64 * 1024;
/// Largest response body accepted, in bytes.
const MAX_BODY: usize = 256 * 1024 * 1024;

/// A loopback HTTP endpoint parsed from a URL such as `http://127.0.0.1:8080`.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// Socket address to connect to (always a loopback address).
    pub addr: SocketAddr,
    /// Value sent in the `Host` header.
    pub host: String,
}

impl Endpoint {
    /// Parses `http://HOST:PORT[/]`; refuses anything that is not loopback.
    pub fn parse(url: &str) -> Result<Self, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("{url}: only http:// URLs are supported"))?;
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        if !path.is_empty() {
            return Err(format!("{url}: give the base URL without a path"));
        }
        let addr = if let Some(port) = authority.strip_prefix("localhost:") {
            let port = port.parse().map_err(|_| format!("{url}: bad port"))?;
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)
        } else if authority == "localhost" {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 80)
        } else if let Ok(addr) = authority.parse::<SocketAddr>() {
            addr
        } else if let Ok(ip) = authority.trim_matches(['[', ']']).parse::<IpAddr>() {
            SocketAddr::new(ip, 80)
        } else {
            return Err(format!("{url}: host must be an IP address or localhost"));
        };
        if !addr.ip().is_loopback() {
            return Err(format!("{url}: only loopback targets are allowed"));
        }
        Ok(Self {
            addr,
            host: authority.to_string(),
        })
    }

    /// The endpoint's base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.host)
    }
}

/// What went wrong with one exchange.
#[derive(Debug)]
pub enum ClientError {
    /// Connecting, reading or writing failed.
    Io(std::io::Error),
    /// The response was not valid HTTP/1.x.
    Parse(String),
    /// The peer closed the connection before a whole response arrived.
    Closed,
    /// No whole response within the timeout.
    Timeout,
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "io: {e}"),
            Self::Parse(e) => write!(f, "bad response: {e}"),
            Self::Closed => f.write_str("connection closed mid-response"),
            Self::Timeout => f.write_str("timed out"),
        }
    }
}

impl std::error::Error for ClientError {}

impl From<std::io::Error> for ClientError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

/// The status line and the headers of a response that the client needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    /// HTTP status code.
    pub status: u16,
    /// Length of the head including the blank line that ends it.
    pub head_len: usize,
    /// Value of `Content-Length`, if any.
    pub content_length: Option<usize>,
    /// Whether `Transfer-Encoding: chunked` was given.
    pub chunked: bool,
    /// Whether the server will close the connection after this response.
    pub close: bool,
    /// Whether the body is MessagePack (`Content-Type` mentions msgpack).
    pub msgpack: bool,
    /// `name=value` of each `Set-Cookie` (portal sign-in).
    pub set_cookies: Vec<String>,
}

/// Parses a response head at the start of `buf`; `Ok(None)` while incomplete.
pub fn parse_head(buf: &[u8]) -> Result<Option<Head>, String> {
    let Some(end) = find(buf, b"\r\n\r\n") else {
        if buf.len() > MAX_HEAD {
            return Err("response head too large".into());
        }
        return Ok(None);
    };
    let text = std::str::from_utf8(&buf[..end]).map_err(|_| "head is not UTF-8".to_string())?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        _ => return Err(format!("bad status line {status_line:?}")),
    };
    let code = parts.next().unwrap_or("");
    let status = match code.parse::<u16>() {
        Ok(s) if code.len() == 3 && (100..600).contains(&s) => s,
        _ => return Err(format!("bad status code in {status_line:?}")),
    };
    let mut head = Head {
        status,
        head_len: end + 4,
        content_length: None,
        chunked: false,
        close: http10,
        msgpack: false,
        set_cookies: Vec::new(),
    };
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!("bad header line {line:?}"));
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            let len = value
                .parse::<usize>()
                .map_err(|_| format!("bad content-length {value:?}"))?;
            head.content_length = Some(len);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            head.chunked = value.to_ascii_lowercase().contains("chunked");
        } else if name.eq_ignore_ascii_case("connection") {
            let value = value.to_ascii_lowercase();
            if value.contains("close") {
                head.close = true;
            } else if value.contains("keep-alive") {
                head.close = false;
            }
        } else if name.eq_ignore_ascii_case("content-type") {
            head.msgpack = value.to_ascii_lowercase().contains("msgpack");
        } else if name.eq_ignore_ascii_case("set-cookie") {
            if let Some(pair) = value.split(';').next() {
                head.set_cookies.push(pair.trim().to_owned());
            }
        }
    }
    Ok(Some(head))
}

/// Decodes a chunked body at the start of `buf`, appending its data to `out`.
///
/// Returns the number of bytes the encoded body took, or `Ok(None)` while it
/// is incomplete (then `out` holds a partial body; clear it before retrying).
pub fn parse_chunked(buf: &[u8], out: &mut Vec<u8>) -> Result<Option<usize>, String> {
    let mut pos = 0;
    loop {
        let Some(line_end) = find(&buf[pos..], b"\r\n") else {
            return Ok(None);
        };
        let line = std::str::from_utf8(&buf[pos..pos + line_end])
            .map_err(|_| "chunk size is not UTF-8".to_string())?;
        let size_text = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        pos += line_end + 2;
        if size == 0 {
            // Trailer fields, then an empty line.
            loop {
                let Some(end) = find(&buf[pos..], b"\r\n") else {
                    return Ok(None);
                };
                pos += end + 2;
                if end == 0 {
                    return Ok(Some(pos));
                }
            }
        }
        if out.len() + size > MAX_BODY {
            return Err("chunked body too large".into());
        }
        if buf.len() < pos + size + 2 {
            return Ok(None);
        }
        out.extend_from_slice(&buf[pos..pos + size]);
        if &buf[pos + size..pos + size + 2] != b"\r\n" {
            return Err("chunk not followed by CRLF".into());
        }
        pos += size + 2;
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A response borrowed from the client's buffers.
#[derive(Debug)]
pub struct Response<'a> {
    /// HTTP status code.
    pub status: u16,
    /// Whether the body is MessagePack.
    pub msgpack: bool,
    /// The (de-chunked) body.
    pub body: &'a [u8],
}

/// Where the last response's body lies.
#[derive(Clone, Copy)]
struct Meta {
    status: u16,
    msgpack: bool,
    /// `Some(range)` in `rbuf`, or `None` when decoded into `chunk_body`.
    body: Option<(usize, usize)>,
}

/// A keep-alive HTTP/1.1 client for one connection, reconnecting lazily.
pub struct Client {
    endpoint: Endpoint,
    timeout: Duration,
    stream: Option<TcpStream>,
    rbuf: Vec<u8>,
    wbuf: Vec<u8>,
    chunk_body: Vec<u8>,
    /// Bytes of `rbuf` that belong to the previous response.
    consumed: usize,
    /// How many connections this client has opened.
    pub connects: u64,
    /// The `Set-Cookie` pairs of the last response.
    pub set_cookies: Vec<String>,
}

impl Client {
    /// A client for `endpoint` whose exchanges time out after `timeout`.
    pub fn new(endpoint: Endpoint, timeout: Duration) -> Self {
        Self {
            endpoint,
            timeout,
            stream: None,
            rbuf: Vec::with_capacity(16 * 1024),
            wbuf: Vec::with_capacity(1024),
            chunk_body: Vec::new(),
            consumed: 0,
            connects: 0,
            set_cookies: Vec::new(),
        }
    }

    /// Opens the connection now if it is not open yet.
    pub async fn connect(&mut self) -> Result<(), ClientError> {
        if self.stream.is_none() {
            let stream = tokio::time::timeout(self.timeout, TcpStream::connect(self.endpoint.addr))
                .await
                .map_err(|_| ClientError::Timeout)??;
            stream.set_nodelay(true)?;
            self.stream = Some(stream);
            self.rbuf.clear();
            self.consumed = 0;
            self.connects += 1;
        }
        Ok(())
    }

    /// Sends one request and reads its response, reconnecting if needed.
    ///
    /// `headers` are extra `(name, value)` pairs; `Host` and
    /// `Content-Length` are always sent. On any error the connection is
    /// dropped and the next call opens a new one.
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Response<'_>, ClientError> {
        self.wbuf.clear();
        write!(
            self.wbuf,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\n",
            self.endpoint.host
        )?;
        for (name, value) in headers {
            write!(self.wbuf, "{name}: {value}\r\n")?;
        }
        write!(self.wbuf, "Content-Length: {}\r\n\r\n", body.len())?;
        self.wbuf.extend_from_slice(body);

        let result = match tokio::time::timeout(self.timeout, self.exchange()).await {
            Ok(r) => r,
            Err(_) => Err(ClientError::Timeout),
        };
        match result {
            Ok(meta) => {
                let body = match meta.body {
                    Some((start, end)) => &self.rbuf[start..end],
                    None => &self.chunk_body[..],
                };
                Ok(Response {
                    status: meta.status,
                    msgpack: meta.msgpack,
                    body,
                })
            }
            Err(e) => {
                self.stream = None;
                Err(e)
            }
        }
    }

    async fn exchange(&mut self) -> Result<Meta, ClientError> {
        self.connect().await?;
        if self.consumed > 0 {
            self.rbuf.drain(..self.consumed);
            self.consumed = 0;
        }
        let stream = self.stream.as_mut().ok_or(ClientError::Closed)?;
        stream.write_all(&self.wbuf).await?;
        loop {
            let eof = if let Some(head) = parse_head(&self.rbuf).map_err(ClientError::Parse)? {
                if (100..200).contains(&head.status) {
                    // An interim response (e.g. 100 Continue): skip it.
                    self.rbuf.drain(..head.head_len);
                    continue;
                }
                let start = head.head_len;
                let no_body = head.status == 204 || head.status == 304;
                let done = if no_body {
                    Some((start, None))
                } else if head.chunked {
                    self.chunk_body.clear();
                    parse_chunked(&self.rbuf[start..], &mut self.chunk_body)
                        .map_err(ClientError::Parse)?
                        .map(|len| (start + len, None))
                } else if let Some(len) = head.content_length {
                    if len > MAX_BODY {
                        return Err(ClientError::Parse("body too large".into()));
                    }
                    (self.rbuf.len() >= start + len)
                        .then_some((start + len, Some((start, start + len))))
                } else {
                    None // body delimited by the connection closing
                };
                if let Some((end, range)) = done {
                    self.consumed = end;
                    self.set_cookies = head.set_cookies;
                    if head.close {
                        self.stream = None;
                    }
                    return Ok(Meta {
                        status: head.status,
                        msgpack: head.msgpack,
                        body: range,
                    });
                }
                let eof = self.read_more().await?;
                if eof && !head.chunked && head.content_length.is_none() && !no_body {
                    let end = self.rbuf.len();
                    self.consumed = end;
                    self.stream = None;
                    self.set_cookies = head.set_cookies;
                    return Ok(Meta {
                        status: head.status,
                        msgpack: head.msgpack,
                        body: Some((start, end)),
                    });
                }
                eof
            } else {
                self.read_more().await?
            };
            if eof {
                return Err(ClientError::Closed);
            }
        }
    }

    /// Reads more bytes into `rbuf`; returns `true` at end of stream.
    async fn read_more(&mut self) -> Result<bool, ClientError> {
        if self.rbuf.capacity() - self.rbuf.len() < 4096 {
            self.rbuf.reserve(self.rbuf.capacity().max(16 * 1024));
        }
        let stream = self.stream.as_mut().ok_or(ClientError::Closed)?;
        let n = stream.read_buf(&mut self.rbuf).await?;
        Ok(n == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_content_length_response() {
        let raw =
            b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nContent-Type: application/json\r\n\r\nhello";
        let head = parse_head(raw).unwrap().unwrap();
        assert_eq!(head.status, 200);
        assert_eq!(head.content_length, Some(5));
        assert_eq!(head.head_len, raw.len() - 5);
        assert!(!head.chunked && !head.close && !head.msgpack);
    }

    #[test]
    fn incomplete_head_is_none() {
        assert_eq!(parse_head(b"HTTP/1.1 200 OK\r\ncontent-le").unwrap(), None);
        assert_eq!(parse_head(b"").unwrap(), None);
    }

    #[test]
    fn header_flags() {
        let raw = b"HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\n\
            transfer-encoding: chunked\r\ncontent-type: application/msgpack\r\n\r\n";
        let head = parse_head(raw).unwrap().unwrap();
        assert_eq!(head.status, 429);
        assert!(head.chunked && head.close && head.msgpack);
        assert_eq!(head.content_length, None);
    }

    #[test]
    fn http10_closes_unless_keep_alive() {
        let head = parse_head(b"HTTP/1.0 200 OK\r\n\r\n").unwrap().unwrap();
        assert!(head.close);
        let head = parse_head(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(!head.close);
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_head(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
        assert!(parse_head(b"HTTP/1.1 20 OK\r\n\r\n").is_err());
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n").is_err());
        assert!(parse_head(b"HTTP/1.1 200 OK\r\ncontent-length: x\r\n\r\n").is_err());
        assert!(parse_head(&vec![b'a'; MAX_HEAD + 1]).is_err());
    }

    #[test]
    fn decodes_chunked_body() {
        let raw = b"4\r\nWiki\r\n6;ext=1\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\n\r\nNEXT";
        let mut out = Vec::new();
        let used = parse_chunked(raw, &mut out).unwrap().unwrap();
        assert_eq!(out, b"Wikipedia in \r\n\r\nchunks.");
        assert_eq!(&raw[used..], b"NEXT");
    }

    #[test]
    fn chunked_with_trailer_and_partial() {
        let raw = b"3\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n";
        let mut out = Vec::new();
        assert_eq!(parse_chunked(raw, &mut out).unwrap(), Some(raw.len()));
        assert_eq!(out, b"abc");
        for cut in 0..raw.len() {
            out.clear();
            assert_eq!(
                parse_chunked(&raw[..cut], &mut out).unwrap(),
                None,
                "cut {cut}"
            );
        }
        out.clear();
        assert!(parse_chunked(b"zz\r\n", &mut out).is_err());
        assert!(parse_chunked(b"3\r\nabcXY0\r\n\r\n", &mut out).is_err());
    }

    #[test]
    fn endpoint_is_loopback_only() {
        let ep = Endpoint::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(ep.addr.port(), 8080);
        assert_eq!(ep.url(), "http://127.0.0.1:8080");
        assert!(Endpoint::parse("http://localhost:81/").is_ok());
        assert!(Endpoint::parse("http://[::1]:81").is_ok());
        assert!(Endpoint::parse("http://10.0.0.1:80").is_err());
        assert!(Endpoint::parse("http://example.com:80").is_err());
        assert!(Endpoint::parse("https://127.0.0.1:80").is_err());
        assert!(Endpoint::parse("http://127.0.0.1:80/v1").is_err());
    }

    #[tokio::test]
    async fn client_round_trips_over_loopback() {
        use tokio::net::TcpListener;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let mut seen = Vec::new();
            // Two requests, answered with a sized and then a chunked body.
            let mut answered = 0;
            while answered < 2 {
                let n = sock.read(&mut buf).await.unwrap();
                assert!(n > 0);
                seen.extend_from_slice(&buf[..n]);
                while let Some(pos) = find(&seen, b"\r\n\r\n") {
                    let body_len = 2; // both requests carry "{}"
                    if seen.len() < pos + 4 + body_len {
                        break;
                    }
                    seen.drain(..pos + 4 + body_len);
                    let reply: &[u8] = if answered == 0 {
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                    } else {
                        b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"
                    };
                    sock.write_all(reply).await.unwrap();
                    answered += 1;
                }
            }
        });
        let ep = Endpoint::parse(&format!("http://{addr}")).unwrap();
        let mut client = Client::new(ep, Duration::from_secs(5));
        let r = client.request("POST", "/a", &[], b"{}").await.unwrap();
        assert_eq!((r.status, r.body), (200, &b"ok"[..]));
        let r = client
            .request("POST", "/b", &[("X-A", "1")], b"{}")
            .await
            .unwrap();
        assert_eq!((r.status, r.body), (201, &b"hi"[..]));
        assert_eq!(client.connects, 1);
        server.await.unwrap();
    }
}
