//! The services `serve` offers (UDP and TCP echo, HTTP, discard), written as
//! an ordinary application on its own thread: it reaches the stack only
//! through a [`StackClient`], over igbpoll-ring.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use igbpoll_stack::api::{ApiError, ConnId, Event, ListenerId, StackClient, Token, UdpId};

/// Which service a listener or connection runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// RFC 862 echo.
    Echo,
    /// HTTP/1.1 (see [`http_response`] for the paths).
    Http,
    /// RFC 863 discard.
    Discard,
}

/// Counters of the services, shared with the stack thread's printer.
#[derive(Debug, Default)]
pub struct ServiceStats {
    /// Connections accepted.
    pub accepted: AtomicU64,
    /// Connections whose end was seen.
    pub closed: AtomicU64,
    /// Bytes received on TCP.
    pub tcp_bytes_in: AtomicU64,
    /// Bytes queued for sending on TCP.
    pub tcp_bytes_out: AtomicU64,
    /// UDP datagrams echoed.
    pub udp_echoed: AtomicU64,
    /// HTTP requests answered.
    pub http_requests: AtomicU64,
    /// HTTP requests refused as malformed or too large.
    pub http_bad_requests: AtomicU64,
}

/// Byte `i` of the `/bytes/N` pattern.
pub fn pattern_byte(i: u64) -> u8 {
    ((i.wrapping_mul(131).wrapping_add(7)) ^ (i >> 8)) as u8
}

/// The largest HTTP request head taken (request line and headers).
const MAX_HEAD: usize = 8192;
/// The largest `/bytes/N`.
const MAX_BYTES: u64 = 1 << 40;

#[derive(Debug)]
enum HttpState {
    /// Reading the request head.
    Head(Vec<u8>),
    /// Hashing `left` more body bytes of a `POST /sha256`.
    Body { left: u64, hash: Box<Sha256> },
    /// Answered; reads are ignored until the close.
    Done,
}

#[derive(Debug)]
struct Conn {
    service: Service,
    /// Bytes waiting for send credit.
    out: VecDeque<u8>,
    /// Pattern bytes still to generate after `out`, and the next offset.
    gen_left: u64,
    gen_at: u64,
    http: HttpState,
    peer_closed: bool,
    close_sent: bool,
    /// Receive credit owed back to the stack (returned once `out` drains, so an
    /// echo never holds more than its window).
    owed: usize,
}

/// The services' event loop.
pub struct Services {
    client: StackClient,
    pending_listen: HashMap<Token, (Service, u16)>,
    pending_udp: HashMap<Token, u16>,
    listeners: HashMap<ListenerId, Service>,
    conns: HashMap<ConnId, Conn>,
    /// Connections with bytes waiting for credit.
    blocked: Vec<ConnId>,
    udp: Option<UdpId>,
    stats: Arc<ServiceStats>,
    scratch: Vec<u8>,
}

impl Services {
    /// Services over `client`; ask for listeners with [`Services::listen`].
    pub fn new(client: StackClient, stats: Arc<ServiceStats>) -> Services {
        Services {
            client,
            pending_listen: HashMap::new(),
            pending_udp: HashMap::new(),
            listeners: HashMap::new(),
            conns: HashMap::new(),
            blocked: Vec::new(),
            udp: None,
            stats,
            scratch: vec![0; 16 * 1024],
        }
    }

    /// The counters, shared with the stack thread.
    pub fn stats(&self) -> &Arc<ServiceStats> {
        &self.stats
    }

    /// Asks the stack to listen on `port` for `service`.
    pub fn listen(&mut self, service: Service, port: u16) -> Result<(), ApiError> {
        let t = self.client.tcp_listen(port, 128)?;
        self.pending_listen.insert(t, (service, port));
        Ok(())
    }

    /// Asks the stack for a UDP echo socket on `port`.
    pub fn udp_echo(&mut self, port: u16) -> Result<(), ApiError> {
        let t = self.client.udp_bind(port)?;
        self.pending_udp.insert(t, port);
        Ok(())
    }

    /// Runs until `stop` is raised or the stack goes away. Errors are
    /// listeners the stack refused (port in use...).
    pub fn run(&mut self, stop: &AtomicBool) -> Result<(), String> {
        let mut idle = 0u32;
        while !stop.load(Ordering::Relaxed) {
            let mut worked = false;
            for _ in 0..256 {
                let Some(ev) = self.client.poll_event() else {
                    break;
                };
                worked = true;
                self.on_event(ev)?;
            }
            if !self.blocked.is_empty() {
                let blocked = std::mem::take(&mut self.blocked);
                for c in blocked {
                    self.flush(c);
                }
            }
            if worked {
                idle = 0;
            } else {
                if self.client.stack_gone() {
                    break;
                }
                // Not on the latency path of ARP, ping or TCP ACKs (the
                // stack's thread answers those): after a short spin, give
                // the core back in 50 us naps.
                idle = idle.saturating_add(1);
                if idle > 4096 {
                    std::thread::sleep(std::time::Duration::from_micros(50));
                } else if idle > 64 {
                    std::thread::yield_now();
                } else {
                    std::hint::spin_loop();
                }
            }
        }
        Ok(())
    }

    fn on_event(&mut self, ev: Event) -> Result<(), String> {
        match ev {
            Event::TcpListening { token, result } => {
                let (service, port) = self
                    .pending_listen
                    .remove(&token)
                    .unwrap_or((Service::Echo, 0));
                match result {
                    Ok(l) => {
                        log::info!("{service:?} listening on TCP port {port}");
                        self.listeners.insert(l, service);
                    }
                    Err(e) => return Err(format!("cannot listen on TCP port {port}: {e}")),
                }
            }
            Event::UdpBound { token, result } => {
                let port = self.pending_udp.remove(&token).unwrap_or(0);
                match result {
                    Ok(s) => self.udp = Some(s),
                    Err(e) => return Err(format!("cannot bind UDP port {port}: {e}")),
                }
            }
            Event::TcpAccepted { listener, conn, .. } => {
                let service = self
                    .listeners
                    .get(&listener)
                    .copied()
                    .unwrap_or(Service::Discard);
                self.stats.accepted.fetch_add(1, Ordering::Relaxed);
                self.conns.insert(
                    conn,
                    Conn {
                        service,
                        out: VecDeque::new(),
                        gen_left: 0,
                        gen_at: 0,
                        http: HttpState::Head(Vec::new()),
                        peer_closed: false,
                        close_sent: false,
                        owed: 0,
                    },
                );
            }
            Event::TcpConnected { .. } => {}
            Event::TcpData { conn, data } => {
                self.stats
                    .tcp_bytes_in
                    .fetch_add(data.len() as u64, Ordering::Relaxed);
                self.on_data(conn, &data);
                self.flush(conn);
            }
            Event::TcpSent { conn, .. } => self.flush(conn),
            Event::TcpPeerClosed { conn } => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.peer_closed = true;
                }
                self.flush(conn);
            }
            Event::TcpClosed { conn, .. } => {
                self.stats.closed.fetch_add(1, Ordering::Relaxed);
                self.conns.remove(&conn);
            }
            Event::UdpDatagram { sock, from, data } => {
                if Some(sock) == self.udp && self.client.udp_send(sock, from, &data).is_ok() {
                    self.stats.udp_echoed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        Ok(())
    }

    fn on_data(&mut self, id: ConnId, data: &[u8]) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        match c.service {
            Service::Echo => {
                c.out.extend(data);
                c.owed += data.len();
            }
            Service::Discard => {
                let _ = self.client.tcp_recv_credit(id, data.len());
            }
            Service::Http => {
                let _ = self.client.tcp_recv_credit(id, data.len());
                http_input(c, data, &self.stats);
            }
        }
    }

    /// Sends what credit allows, returns receive credit an echo has passed
    /// on, and closes once everything is out after the peer's FIN (echo,
    /// discard) or after the response (HTTP).
    fn flush(&mut self, id: ConnId) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        loop {
            let credit = self.client.tcp_credit(id);
            if credit == 0 {
                break;
            }
            let n = if !c.out.is_empty() {
                let (a, _) = c.out.as_slices();
                let n = a.len().min(credit);
                match self.client.tcp_send(id, &a[..n]) {
                    Ok(n) => {
                        c.out.drain(..n);
                        n
                    }
                    Err(_) => 0,
                }
            } else if c.gen_left > 0 {
                let n = (c.gen_left.min(self.scratch.len() as u64) as usize).min(credit);
                for (k, b) in self.scratch[..n].iter_mut().enumerate() {
                    *b = pattern_byte(c.gen_at + k as u64);
                }
                match self.client.tcp_send(id, &self.scratch[..n]) {
                    Ok(n) => {
                        c.gen_left -= n as u64;
                        c.gen_at += n as u64;
                        n
                    }
                    Err(_) => 0,
                }
            } else {
                break;
            };
            if n == 0 {
                break;
            }
            self.stats
                .tcp_bytes_out
                .fetch_add(n as u64, Ordering::Relaxed);
        }
        if c.service == Service::Echo && c.owed > 0 {
            let passed = c.owed - c.out.len().min(c.owed);
            if passed > 0 && self.client.tcp_recv_credit(id, passed).is_ok() {
                c.owed -= passed;
            }
        }
        let drained = c.out.is_empty() && c.gen_left == 0;
        let finished = match c.service {
            Service::Http => matches!(c.http, HttpState::Done) || c.peer_closed,
            Service::Echo | Service::Discard => c.peer_closed,
        };
        if drained && finished && !c.close_sent && self.client.tcp_close(id).is_ok() {
            c.close_sent = true;
        }
        if !drained && !self.blocked.contains(&id) {
            self.blocked.push(id);
        }
    }
}

/// Feeds request bytes to an HTTP connection; queues the response when the
/// request is complete.
fn http_input(c: &mut Conn, mut data: &[u8], stats: &ServiceStats) {
    loop {
        match &mut c.http {
            HttpState::Done => return,
            HttpState::Body { left, hash } => {
                let n = (*left).min(data.len() as u64) as usize;
                hash.update(&data[..n]);
                *left -= n as u64;
                if *left == 0 {
                    let digest = std::mem::take(hash).finalize();
                    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
                    respond(c, 200, "OK", format!("{hex}\n").as_bytes(), 0);
                    stats.http_requests.fetch_add(1, Ordering::Relaxed);
                }
                return;
            }
            HttpState::Head(head) => {
                let before = head.len();
                let take = data.len().min(MAX_HEAD + 4 - before);
                head.extend_from_slice(&data[..take]);
                let Some(end) = find_head_end(head, before.saturating_sub(3)) else {
                    if head.len() > MAX_HEAD {
                        stats.http_bad_requests.fetch_add(1, Ordering::Relaxed);
                        respond(c, 431, "Request Header Fields Too Large", b"", 0);
                    }
                    return;
                };
                let used = end - before;
                let request = parse_head(&head[..end]);
                data = &data[used.min(data.len())..];
                match request {
                    Err(status) => {
                        stats.http_bad_requests.fetch_add(1, Ordering::Relaxed);
                        respond(c, status, reason(status), b"", 0);
                        return;
                    }
                    Ok(req) => match http_response(&req) {
                        Response::Body(status, body) => {
                            stats.http_requests.fetch_add(1, Ordering::Relaxed);
                            respond(c, status, reason(status), body.as_bytes(), 0);
                            return;
                        }
                        Response::Pattern(n) => {
                            stats.http_requests.fetch_add(1, Ordering::Relaxed);
                            respond(c, 200, "OK", b"", n);
                            return;
                        }
                        Response::HashBody(len) => {
                            if req.expect_continue {
                                c.out.extend(b"HTTP/1.1 100 Continue\r\n\r\n");
                            }
                            c.http = HttpState::Body {
                                left: len,
                                hash: Box::default(),
                            };
                            if len == 0 {
                                continue;
                            }
                        }
                    },
                }
            }
        }
    }
}

/// Where a request head ends (just past `\r\n\r\n`), searching from `from`.
fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| from + p + 4)
}

/// A parsed request head.
#[derive(Debug, PartialEq, Eq)]
pub struct Request {
    /// GET, HEAD, POST...
    pub method: String,
    /// The path.
    pub path: String,
    /// The Content-Length header (0 when absent).
    pub content_length: u64,
    /// `Expect: 100-continue`: the client waits for an interim answer before
    /// sending the body.
    pub expect_continue: bool,
}

/// Parses a request head (request line and headers); an error is the status
/// to answer with.
pub fn parse_head(head: &[u8]) -> Result<Request, u16> {
    let text = std::str::from_utf8(head).map_err(|_| 400u16)?;
    let mut lines = text.split("\r\n");
    let line = lines.next().ok_or(400u16)?;
    let mut parts = line.split(' ');
    let (Some(method), Some(path), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(400);
    };
    if !version.starts_with("HTTP/1.") || method.is_empty() || !path.starts_with('/') {
        return Err(400);
    }
    let mut content_length = 0;
    let mut expect_continue = false;
    for h in lines.filter(|l| !l.is_empty()) {
        let (name, value) = h.split_once(':').ok_or(400u16)?;
        if name.eq_ignore_ascii_case("content-length") {
            content_length = value.trim().parse().map_err(|_| 400u16)?;
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(501);
        } else if name.eq_ignore_ascii_case("expect") {
            if !value.trim().eq_ignore_ascii_case("100-continue") {
                return Err(417);
            }
            expect_continue = true;
        }
    }
    Ok(Request {
        method: method.to_string(),
        path: path.to_string(),
        content_length,
        expect_continue,
    })
}

/// What to answer.
#[derive(Debug, PartialEq, Eq)]
pub enum Response {
    /// A status and a short body.
    Body(u16, String),
    /// 200 with `n` bytes of the pattern.
    Pattern(u64),
    /// Read a body of this length and answer its SHA-256.
    HashBody(u64),
}

/// The answer to a request: `GET /` a page, `GET /bytes/N` N pattern bytes,
/// `POST /sha256` the body's SHA-256, anything else 404 or 405.
pub fn http_response(req: &Request) -> Response {
    let get = req.method == "GET" || req.method == "HEAD";
    match req.path.as_str() {
        "/" if get => Response::Body(
            200,
            "igbpoll serve: hello from the user-space stack\n".into(),
        ),
        "/sha256" if req.method == "POST" || req.method == "PUT" => {
            Response::HashBody(req.content_length)
        }
        p if get && p.starts_with("/bytes/") => match p["/bytes/".len()..].parse::<u64>() {
            Ok(n) if n <= MAX_BYTES => Response::Pattern(n),
            _ => Response::Body(400, "bad length\n".into()),
        },
        "/" | "/sha256" => Response::Body(405, "method not allowed\n".into()),
        p if p.starts_with("/bytes/") => Response::Body(405, "method not allowed\n".into()),
        _ => Response::Body(404, "not found\n".into()),
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        417 => "Expectation Failed",
        431 => "Request Header Fields Too Large",
        501 => "Not Implemented",
        _ => "Error",
    }
}

fn respond(c: &mut Conn, status: u16, reason: &str, body: &[u8], pattern: u64) {
    let len = body.len() as u64 + pattern;
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nServer: igbpoll\r\nContent-Length: {len}\r\nContent-Type: {}\r\nConnection: close\r\n\r\n",
        if pattern > 0 { "application/octet-stream" } else { "text/plain" }
    );
    c.out.extend(head.as_bytes());
    c.out.extend(body);
    c.gen_left = pattern;
    c.gen_at = 0;
    c.http = HttpState::Done;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_heads_parse_or_get_a_status() {
        let r = parse_head(b"GET /bytes/10 HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        assert_eq!(r.path, "/bytes/10");
        assert_eq!(http_response(&r), Response::Pattern(10));
        let r = parse_head(b"POST /sha256 HTTP/1.1\r\nContent-Length: 5\r\n\r\n").unwrap();
        assert_eq!(http_response(&r), Response::HashBody(5));
        assert_eq!(parse_head(b"GET\r\n\r\n"), Err(400));
        assert_eq!(
            parse_head(b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n"),
            Err(400)
        );
        assert_eq!(
            parse_head(b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Err(501)
        );
        assert_eq!(parse_head(b"GET / SPDY\r\n\r\n"), Err(400));
        assert_eq!(
            parse_head(b"PUT / HTTP/1.1\r\nExpect: magic\r\n\r\n"),
            Err(417)
        );
        let r = parse_head(b"PUT /sha256 HTTP/1.1\r\nExpect: 100-continue\r\n\r\n").unwrap();
        assert!(r.expect_continue);
        assert_eq!(parse_head(&[0xff, 0xfe, b'\r', b'\n']), Err(400));
        let r = parse_head(b"GET /nope HTTP/1.0\r\n\r\n").unwrap();
        assert!(matches!(http_response(&r), Response::Body(404, _)));
        let r = parse_head(b"DELETE / HTTP/1.1\r\n\r\n").unwrap();
        assert!(matches!(http_response(&r), Response::Body(405, _)));
        let r = parse_head(b"GET /bytes/abc HTTP/1.1\r\n\r\n").unwrap();
        assert!(matches!(http_response(&r), Response::Body(400, _)));
    }

    fn conn(service: Service) -> Conn {
        Conn {
            service,
            out: VecDeque::new(),
            gen_left: 0,
            gen_at: 0,
            http: HttpState::Head(Vec::new()),
            peer_closed: false,
            close_sent: false,
            owed: 0,
        }
    }

    #[test]
    fn a_request_split_anywhere_gets_one_answer() {
        let req = b"POST /sha256 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
        for cut in 1..req.len() {
            let stats = ServiceStats::default();
            let mut c = conn(Service::Http);
            http_input(&mut c, &req[..cut], &stats);
            http_input(&mut c, &req[cut..], &stats);
            let out: Vec<u8> = c.out.iter().copied().collect();
            let text = String::from_utf8(out).unwrap();
            assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "cut {cut}: {text}");
            // SHA-256("abc"), FIPS 180-2 appendix B.1.
            assert!(text
                .ends_with("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n"));
            assert_eq!(stats.http_requests.load(Ordering::Relaxed), 1);
        }
    }

    #[test]
    fn oversized_heads_are_refused() {
        let stats = ServiceStats::default();
        let mut c = conn(Service::Http);
        let junk = vec![b'a'; MAX_HEAD + 100];
        http_input(&mut c, &junk, &stats);
        let out: Vec<u8> = c.out.iter().copied().collect();
        assert!(String::from_utf8(out).unwrap().starts_with("HTTP/1.1 431"));
        assert_eq!(stats.http_bad_requests.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn pattern_is_not_periodic_at_256() {
        let a: Vec<u8> = (0..256).map(pattern_byte).collect();
        let b: Vec<u8> = (256..512).map(pattern_byte).collect();
        assert_ne!(a, b);
    }
}
