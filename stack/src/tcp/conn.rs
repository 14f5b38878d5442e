//! One connection: its state, sequence variables, buffers and timers, and
//! how it builds outgoing segments. Segment arrival lives in `set`, which
//! owns the connection table.

use std::time::Duration;

use super::buffer::{Assembler, Ring};
use super::rtt::RttEstimator;
use super::seq::{add, max, span};
use super::types::{CloseReason, State, TcpConfig};
use crate::time::Instant;
use crate::wire::{Ipv4Addr, TcpFlags as Flags, TcpOptions, TcpRepr, TcpSeqNumber as Seq};

/// Per-connection state.
#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) state: State,
    pub(crate) local_port: u16,
    pub(crate) remote: Ipv4Addr,
    pub(crate) remote_port: u16,
    pub(crate) iss: Seq,
    pub(crate) snd_una: Seq,
    pub(crate) snd_nxt: Seq,
    /// Highest sequence number sent (snd_nxt rewinds on timeout).
    pub(crate) snd_max: Seq,
    pub(crate) snd_wnd: u32,
    pub(crate) snd_wl1: Seq,
    pub(crate) snd_wl2: Seq,
    pub(crate) snd_wscale: u8,
    pub(crate) rcv_wscale: u8,
    pub(crate) rcv_nxt: Seq,
    pub(crate) send_mss: usize,
    pub(crate) tx: Ring,
    pub(crate) rx: Ring,
    /// The receive buffer it will get once synchronized.
    pub(crate) rx_size: usize,
    pub(crate) asm: Assembler,
    /// The application closed: a FIN follows the queued data.
    pub(crate) fin_queued: bool,
    pub(crate) peer_fin: bool,
    pub(crate) rtt: RttEstimator,
    pub(crate) rtt_probe: Option<(Seq, Instant)>,
    pub(crate) retx_at: Option<Instant>,
    pub(crate) retries: u32,
    pub(crate) cwnd: usize,
    pub(crate) ssthresh: usize,
    pub(crate) dupacks: u32,
    pub(crate) recover: Option<Seq>,
    pub(crate) fast_rtx: bool,
    pub(crate) ack_now: bool,
    pub(crate) delack_at: Option<Instant>,
    pub(crate) unacked_segs: u32,
    pub(crate) last_adv: usize,
    pub(crate) timewait_at: Option<Instant>,
    /// The listener port this connection came from, until accepted.
    pub(crate) listener: Option<(u16, u32)>,
    pub(crate) released: bool,
    pub(crate) readable_told: bool,
    pub(crate) want_writable: bool,
    pub(crate) close_reason: Option<CloseReason>,
}

impl Conn {
    pub(crate) fn new(
        cfg: &TcpConfig,
        local_port: u16,
        remote: Ipv4Addr,
        remote_port: u16,
        iss: Seq,
    ) -> Conn {
        let mut rcv_wscale = 0u8;
        while (cfg.rx_buffer >> rcv_wscale) > 65535 && rcv_wscale < 14 {
            rcv_wscale += 1;
        }
        let mss = usize::from(cfg.mss.max(64));
        Conn {
            state: State::Closed,
            local_port,
            remote,
            remote_port,
            iss,
            snd_una: iss,
            snd_nxt: iss,
            snd_max: iss,
            snd_wnd: 0,
            snd_wl1: Seq(0),
            snd_wl2: Seq(0),
            snd_wscale: 0,
            rcv_wscale,
            rcv_nxt: Seq(0),
            send_mss: mss,
            tx: Ring::with_capacity(0),
            rx: Ring::with_capacity(0),
            rx_size: cfg.rx_buffer.max(1),
            asm: Assembler::new(cfg.max_ooo_ranges),
            fin_queued: false,
            peer_fin: false,
            rtt: RttEstimator::new(cfg.rto_initial, cfg.rto_min, cfg.rto_max),
            rtt_probe: None,
            retx_at: None,
            retries: 0,
            cwnd: 10 * mss,
            ssthresh: usize::MAX / 2,
            dupacks: 0,
            recover: None,
            fast_rtx: false,
            ack_now: false,
            delack_at: None,
            unacked_segs: 0,
            last_adv: 0,
            timewait_at: None,
            listener: None,
            released: false,
            readable_told: false,
            want_writable: false,
            close_reason: None,
        }
    }

    /// Gives the connection its full buffers (once synchronized).
    pub(crate) fn allocate(&mut self, cfg: &TcpConfig) {
        if self.rx.capacity() == 0 {
            self.rx = Ring::with_capacity(cfg.rx_buffer.max(1));
            self.tx = Ring::with_capacity(cfg.tx_buffer.max(1));
            self.cwnd = 10 * self.send_mss;
        }
    }

    /// Takes the peer's SYN: its sequence number, MSS and window scale.
    pub(crate) fn irs_init(&mut self, seg: &TcpRepr<'_>) {
        self.rcv_nxt = add(seg.seq, 1);
        let peer_mss = usize::from(seg.options.mss.unwrap_or(536)).max(64);
        self.send_mss = peer_mss.min(self.send_mss);
        match seg.options.window_scale {
            Some(ws) => self.snd_wscale = ws.min(14),
            None => {
                self.snd_wscale = 0;
                self.rcv_wscale = 0;
            }
        }
        self.snd_wnd = u32::from(seg.window);
        self.snd_wl1 = seg.seq;
    }

    /// Whether the state has exchanged SYNs both ways.
    pub(crate) fn synchronized(&self) -> bool {
        !matches!(
            self.state,
            State::Closed | State::Listen | State::SynSent | State::SynReceived
        )
    }

    /// Whether our FIN has been sent (it is the last sequence number).
    pub(crate) fn fin_seq(&self) -> Option<Seq> {
        if self.fin_queued {
            Some(add(self.iss, 1 + self.data_sent_total()))
        } else {
            None
        }
    }

    /// Bytes of data from snd_una to the end of the send queue, as
    /// sequence numbers: iss + 1 + everything ever queued.
    fn data_sent_total(&self) -> usize {
        span(add(self.iss, 1), self.snd_una) + self.tx.len()
    }

    /// The receive window we can offer now (bytes).
    pub(crate) fn rcv_window(&self) -> usize {
        // Before its buffers exist (half-open), the window is the one the
        // buffer will offer.
        let w = if self.rx.capacity() == 0 && !self.synchronized() {
            self.rx_size
        } else {
            self.rx.free()
        };
        w.min(65535usize << self.rcv_wscale)
    }

    fn window_field(&mut self) -> u16 {
        let w = self.rcv_window();
        self.last_adv = w;
        (w >> self.rcv_wscale).min(65535) as u16
    }

    /// The next new segment the windows allow: its data length and whether
    /// it carries the FIN; `None` when nothing may go now.
    pub(crate) fn next_segment(&self) -> Option<(usize, bool)> {
        if !self.synchronized() || self.state == State::TimeWait {
            return None;
        }
        let mss = self.send_mss;
        let end_data = add(add(self.iss, 1), self.data_sent_total());
        let flight = span(self.snd_una, self.snd_nxt);
        let wnd = (self.snd_wnd as usize).min(self.cwnd);
        let avail = span(self.snd_nxt, end_data);
        let room = wnd.saturating_sub(flight);
        let n = avail.min(room).min(mss);
        let fin_now = self.fin_seq() == Some(add(self.snd_nxt, n));
        if n == 0 && !fin_now {
            return None;
        }
        // Avoid tiny segments while data is in flight and more is queued
        // than the window takes now (sender SWS avoidance).
        if n < mss && n < avail && flight > 0 {
            return None;
        }
        Some((n, fin_now))
    }

    /// The deadline of the earliest timer.
    pub(crate) fn poll_at(&self) -> Option<Instant> {
        let mut t: Option<Instant> = None;
        for d in [self.retx_at, self.delack_at, self.timewait_at]
            .into_iter()
            .flatten()
        {
            t = Some(t.map_or(d, |x| x.min(d)));
        }
        if self.ack_now || self.fast_rtx || self.next_segment().is_some() {
            t = Some(Instant::ZERO);
        }
        t
    }

    pub(crate) fn base_repr(&mut self, flags: Flags, seq: Seq) -> TcpRepr<'static> {
        let window = self.window_field();
        let ack = self.rcv_nxt;
        let has_ack = self.state != State::SynSent;
        self.ack_now = false;
        self.delack_at = None;
        self.unacked_segs = 0;
        TcpRepr {
            src_port: self.local_port,
            dst_port: self.remote_port,
            seq,
            ack: if has_ack { ack } else { Seq(0) },
            flags: if has_ack { flags | Flags::ACK } else { flags },
            window,
            options: TcpOptions::default(),
            payload: &[],
        }
    }

    /// The SYN (or SYN-ACK) with our options.
    pub(crate) fn syn_repr(&mut self, cfg: &TcpConfig) -> TcpRepr<'static> {
        let mut r = self.base_repr(Flags::SYN, self.iss);
        r.options.mss = Some(cfg.mss);
        // In SYN-RECEIVED the scale is offered only if the peer offered one
        // (rcv_wscale was zeroed otherwise).
        if self.state == State::SynSent || self.rcv_wscale > 0 || self.snd_wscale > 0 {
            r.options.window_scale = Some(self.rcv_wscale);
        }
        // The SYN's window is never scaled.
        r.window = self.rx.free().max(cfg.rx_buffer).min(65535) as u16;
        r
    }

    /// Timer work at `now`; returns false when the connection gave up.
    pub(crate) fn on_timers(&mut self, now: Instant, cfg: &TcpConfig) -> bool {
        if let Some(t) = self.delack_at {
            if now >= t {
                self.delack_at = None;
                self.ack_now = true;
            }
        }
        if let Some(t) = self.retx_at {
            if now >= t {
                self.retx_at = None;
                let persist = self.synchronized()
                    && self.snd_wnd == 0
                    && self.snd_una == self.snd_max
                    && !self.tx.is_empty();
                if persist {
                    // Zero-window probe: one byte beyond the window.
                    self.fast_rtx = true;
                    self.rtt.back_off();
                    return true;
                }
                self.retries += 1;
                let limit = if self.synchronized() {
                    cfg.max_retries
                } else {
                    cfg.max_syn_retries
                };
                if self.retries > limit {
                    return false;
                }
                let flight = span(self.snd_una, self.snd_max);
                self.ssthresh = (flight / 2).max(2 * self.send_mss);
                self.cwnd = self.send_mss;
                self.recover = None;
                self.dupacks = 0;
                self.rtt.back_off();
                self.rtt_probe = None;
                self.snd_nxt = self.snd_una;
                self.fast_rtx = true;
            }
        }
        if let Some(t) = self.timewait_at {
            if now >= t {
                return false;
            }
        }
        true
    }

    fn arm_retx(&mut self, now: Instant) {
        if self.retx_at.is_none() {
            self.retx_at = Some(now + self.rtt.rto());
        }
    }

    /// Builds and sends what is due, at most `budget` segments. Returns the
    /// number sent.
    pub(crate) fn output(
        &mut self,
        now: Instant,
        cfg: &TcpConfig,
        budget: usize,
        out: &mut dyn FnMut(Ipv4Addr, &TcpRepr<'_>) -> bool,
    ) -> usize {
        let remote = self.remote;
        match self.state {
            State::Closed | State::Listen | State::TimeWait => {
                if self.ack_now && self.state == State::TimeWait {
                    let r = self.base_repr(Flags(0), self.snd_max);
                    return usize::from(out(remote, &r));
                }
                return 0;
            }
            State::SynSent | State::SynReceived => {
                if self.snd_nxt == self.iss || self.fast_rtx {
                    self.fast_rtx = false;
                    let r = self.syn_repr(cfg);
                    if out(remote, &r) {
                        self.snd_nxt = add(self.iss, 1);
                        self.snd_max = self.snd_nxt;
                    }
                    self.arm_retx(now);
                    return 1;
                }
                if self.ack_now && self.state == State::SynReceived {
                    self.ack_now = false;
                }
                return 0;
            }
            _ => {}
        }
        let mut sent = 0;
        let mss = self.send_mss;
        let data_start = add(self.iss, 1);
        let total_data = self.data_sent_total();
        let end_data = add(data_start, total_data);
        let fin_seq = self.fin_seq();
        if self.fast_rtx {
            self.fast_rtx = false;
            // One segment from snd_una (fast retransmit, partial ACK, RTO,
            // or zero-window probe of one byte).
            let probe = self.snd_wnd == 0;
            let off = 0;
            let len = if probe { 1 } else { mss };
            let slice_len = self.tx.slice(off, len).len();
            let seq = self.snd_una;
            let fin = fin_seq == Some(add(seq, slice_len)) && !probe;
            if slice_len > 0 || fin {
                let mut r = self.base_repr(if fin { Flags::FIN } else { Flags(0) }, seq);
                r.payload = self.tx.slice(off, len);
                if out(remote, &r) {
                    sent += 1;
                }
                let end = add(seq, slice_len + usize::from(fin));
                if self.snd_nxt.lt(end) {
                    self.snd_nxt = end;
                }
                if self.snd_max.lt(end) {
                    self.snd_max = end;
                }
                self.retx_at = None;
                self.arm_retx(now);
            }
        }
        while sent < budget {
            let Some((n, fin_now)) = self.next_segment() else {
                break;
            };
            let off = span(max(self.snd_una, data_start), self.snd_nxt);
            let seq = self.snd_nxt;
            let mut r = self.base_repr(if fin_now { Flags::FIN } else { Flags(0) }, seq);
            r.payload = self.tx.slice(off, n);
            let len = r.payload.len();
            if len < n {
                // The ring's storage wraps: send what is contiguous.
                r.flags = Flags(r.flags.0 & !Flags::FIN.0);
            }
            let fin_sent = r.flags.contains(Flags::FIN);
            if len > 0 {
                r.flags = r.flags | Flags::PSH;
            }
            if !out(remote, &r) {
                self.ack_now = true;
                break;
            }
            sent += 1;
            let end = add(seq, len + usize::from(fin_sent));
            self.snd_nxt = end;
            if self.snd_max.lt(end) {
                self.snd_max = end;
                if self.rtt_probe.is_none() {
                    self.rtt_probe = Some((end, now));
                }
            }
            self.arm_retx(now);
        }
        // Persist timer: data waits behind a zero window.
        if self.snd_wnd == 0 && span(self.snd_nxt, end_data) > 0 && self.retx_at.is_none() {
            self.retx_at = Some(now + self.rtt.rto());
        }
        if sent == 0 && self.ack_now {
            let r = self.base_repr(Flags(0), self.snd_max);
            if out(remote, &r) {
                sent += 1;
            } else {
                self.ack_now = true;
            }
        }
        sent
    }

    /// How long TIME-WAIT lasts.
    pub(crate) fn time_wait(cfg: &TcpConfig) -> Duration {
        cfg.msl.saturating_mul(2)
    }
}
