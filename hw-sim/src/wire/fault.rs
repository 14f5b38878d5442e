//! A fault-injecting wire stage: loss, reordering, duplication and
//! corruption, seeded and deterministic.
//!
//! [`Faulty`] wraps any [`FrameSource`] (frames towards the NIC: generator,
//! replay, TAP) and [`FaultySink`] any [`FrameSink`] (frames the NIC
//! transmits). Each draws its decisions from its own [`SplitMix64`] seeded from
//! [`FaultConfig::seed`] (the sink from a seed derived from it), four numbers
//! per frame whatever the outcome, so the same seed and the same frames give
//! the same decisions, whatever the timing. Frames injected with
//! [`Sim::inject`](crate::Sim::inject) do not pass through the stage.
//!
//! For each frame, in this order:
//! - **loss** (`loss`): the frame is dropped;
//! - **corruption** (`corrupt`): one to three distinct bits are flipped after
//!   the Ethernet header: from byte 14 on (18 on an 802.1Q-tagged frame), that
//!   is in the IP header, the payload or the padding. The frame keeps a valid
//!   FCS (the NIC model computes it from the bytes it gets), as if it had been
//!   damaged before the sender computed its FCS, so it reaches the driver and
//!   the stack's own checksums have to catch it. A frame with no byte past the
//!   header is left alone and not counted;
//! - **duplication** (`dup`): the frame is delivered twice in a row;
//! - **reordering** (`reorder`): the frame is held back and delivered right
//!   after the next frame that gets through (one frame held at a time; a
//!   reorder decision while one is held is not applied). A held frame never
//!   waits for traffic: it is released as soon as the source has no frame for
//!   now (it answers [`SourcePoll::Until`] or [`SourcePoll::Done`]), so the
//!   delay is bounded by the current burst. On the sink side it is released by
//!   the next transmitted frame, by [`FrameSink::flush`], or by the
//!   [`HeldRelease`] handle a [`Faulty`] source calls whenever its own source
//!   is idle (see [`Faulty::with_release`]): within one engine round.
//!
//! Counters ([`FaultCounters`]) are shared handles, readable from any thread.
//! Once nothing is held, `delivered == frames - lost + duplicated`.
//!
//! Frames that pass are copied once into a buffer of the stage (buffers are
//! recycled: no allocation in the steady state); wrap a source only when some
//! rate is non-zero ([`FaultConfig::is_active`]).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::generator::SplitMix64;
use super::{FrameSink, FrameSource, SourcePoll};

/// Most frames one [`Faulty::poll`] consumes from its source (lost or held)
/// before it lets the engine do something else.
const MAX_FRAMES_PER_POLL: usize = 64;

/// Largest number of bits flipped in one corrupted frame.
pub const MAX_FLIPS: usize = 3;

/// The probabilities of the stage and its seed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultConfig {
    /// Probability that a frame is dropped (0..=1).
    pub loss: f64,
    /// Probability that a frame is held back behind the next one (0..=1).
    pub reorder: f64,
    /// Probability that a frame is delivered twice (0..=1).
    pub dup: f64,
    /// Probability that bits of a frame are flipped (0..=1).
    pub corrupt: f64,
    /// Seed of the decisions.
    pub seed: u64,
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            loss: 0.0,
            reorder: 0.0,
            dup: 0.0,
            corrupt: 0.0,
            seed: 1,
        }
    }
}

impl FaultConfig {
    /// True when some rate is above zero.
    pub fn is_active(&self) -> bool {
        self.loss > 0.0 || self.reorder > 0.0 || self.dup > 0.0 || self.corrupt > 0.0
    }

    /// Checks that every rate is a number in 0..=1.
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [
            ("loss", self.loss),
            ("reorder", self.reorder),
            ("dup", self.dup),
            ("corrupt", self.corrupt),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("{name} rate {v} is not between 0 and 1"));
            }
        }
        Ok(())
    }
}

/// Parses a rate: a fraction `0..=1` (`0.01`, `1e-3`) or a percentage
/// `0%..=100%` (`1%`, `0.5%`).
pub fn parse_rate(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let (num, scale) = match t.strip_suffix('%') {
        Some(n) => (n.trim_end(), 100.0),
        None => (t, 1.0),
    };
    let bad = || {
        format!(
            "`{s}` is not a rate: give a fraction from 0 to 1 (0.01) or a percentage from 0% to 100% (1%)"
        )
    };
    let v: f64 = num.parse().map_err(|_| bad())?;
    if !v.is_finite() {
        return Err(bad());
    }
    let r = v / scale;
    if !(0.0..=1.0).contains(&r) {
        return Err(bad());
    }
    Ok(r)
}

/// Probability thresholds for 64-bit draws.
#[derive(Debug, Clone, Copy)]
struct Thresholds {
    loss: u64,
    reorder: u64,
    dup: u64,
    corrupt: u64,
}

/// `p` as a threshold on a uniform u64: true when `draw < threshold`, with
/// `u64::MAX` meaning "always" (see [`hit`]).
fn threshold(p: f64) -> u64 {
    if p.is_nan() || p <= 0.0 {
        0
    } else if p >= 1.0 {
        u64::MAX
    } else {
        (p * 18_446_744_073_709_551_616.0) as u64
    }
}

#[inline]
fn hit(draw: u64, t: u64) -> bool {
    t == u64::MAX || draw < t
}

impl Thresholds {
    fn new(c: &FaultConfig) -> Thresholds {
        Thresholds {
            loss: threshold(c.loss),
            reorder: threshold(c.reorder),
            dup: threshold(c.dup),
            corrupt: threshold(c.corrupt),
        }
    }
}

/// What happens to one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fate {
    lose: bool,
    corrupt: bool,
    dup: bool,
    reorder: bool,
    /// Random bits for the corruption's positions.
    bits: u64,
}

/// Four draws per frame, whatever the outcome (plus one for the bits).
fn draw(rng: &mut SplitMix64, t: &Thresholds) -> Fate {
    let (a, b, c, d) = (
        rng.next_u64(),
        rng.next_u64(),
        rng.next_u64(),
        rng.next_u64(),
    );
    Fate {
        lose: hit(a, t.loss),
        corrupt: hit(b, t.corrupt),
        dup: hit(c, t.dup),
        reorder: hit(d, t.reorder),
        bits: rng.next_u64(),
    }
}

/// Where corruption may start in `frame`: after the Ethernet header (and an
/// 802.1Q tag).
pub fn corrupt_from(frame: &[u8]) -> usize {
    if frame.len() >= 18 && frame[12..14] == [0x81, 0x00] {
        18
    } else {
        14
    }
}

/// Flips one to [`MAX_FLIPS`] distinct bits of `frame` past the Ethernet
/// header, chosen from `bits`. Returns false (and changes nothing) when the
/// frame has no byte past the header.
fn corrupt(frame: &mut [u8], bits: u64) -> bool {
    let start = corrupt_from(frame);
    if frame.len() <= start {
        return false;
    }
    let span = ((frame.len() - start) * 8) as u64;
    let mut r = SplitMix64::new(bits);
    let n = 1 + (bits % MAX_FLIPS as u64) as usize;
    let n = n.min(span as usize);
    let mut chosen = [u64::MAX; MAX_FLIPS];
    let mut k = 0;
    while k < n {
        let bit = r.next_u64() % span;
        if chosen[..k].contains(&bit) {
            continue;
        }
        chosen[k] = bit;
        k += 1;
        frame[start + (bit / 8) as usize] ^= 1 << (bit % 8);
    }
    true
}

#[derive(Default)]
struct Cells {
    frames: AtomicU64,
    lost: AtomicU64,
    reordered: AtomicU64,
    duplicated: AtomicU64,
    corrupted: AtomicU64,
    delivered: AtomicU64,
}

/// What a fault stage did (see [`FaultCounters::snapshot`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultStats {
    /// Frames that entered the stage.
    pub frames: u64,
    /// Dropped.
    pub lost: u64,
    /// Held back behind a later frame.
    pub reordered: u64,
    /// Delivered twice (counted once per duplicated frame).
    pub duplicated: u64,
    /// Bits flipped in them.
    pub corrupted: u64,
    /// Frames that left the stage, duplicates included.
    pub delivered: u64,
}

/// A shared handle on a fault stage's counters.
#[derive(Clone, Default)]
pub struct FaultCounters(Arc<Cells>);

impl std::fmt::Debug for FaultCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.snapshot().fmt(f)
    }
}

impl FaultCounters {
    /// The counts now.
    pub fn snapshot(&self) -> FaultStats {
        let c = &self.0;
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        FaultStats {
            frames: l(&c.frames),
            lost: l(&c.lost),
            reordered: l(&c.reordered),
            duplicated: l(&c.duplicated),
            corrupted: l(&c.corrupted),
            delivered: l(&c.delivered),
        }
    }
}

#[inline]
fn bump(a: &AtomicU64) {
    a.fetch_add(1, Ordering::Relaxed);
}

/// A buffer from `pool` (or a new one) holding a copy of `data`.
fn copy_into(pool: &mut Vec<Vec<u8>>, data: &[u8]) -> Vec<u8> {
    let mut b = pool.pop().unwrap_or_default();
    b.clear();
    b.extend_from_slice(data);
    b
}

/// A source with faults (see the module docs).
pub struct Faulty<S> {
    inner: S,
    t: Thresholds,
    rng: SplitMix64,
    counters: FaultCounters,
    /// The decision drawn for a frame the source did not have yet.
    pending: Option<Fate>,
    /// The frame held back, and whether it is to be duplicated.
    held: Option<(Vec<u8>, bool)>,
    /// Frames to hand out before the source is polled again.
    ready: VecDeque<Vec<u8>>,
    /// The frame handed out by the last poll (recycled at the next).
    current: Option<Vec<u8>>,
    pool: Vec<Vec<u8>>,
    release: Option<HeldRelease>,
}

impl<S> std::fmt::Debug for Faulty<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Faulty")
            .field("counters", &self.counters)
            .field("holding", &self.held.is_some())
            .finish()
    }
}

impl<S: FrameSource> Faulty<S> {
    /// Wraps `inner`; decisions are seeded with `config.seed`. Rates outside
    /// 0..=1 are clamped.
    pub fn new(inner: S, config: &FaultConfig) -> Faulty<S> {
        Faulty {
            inner,
            t: Thresholds::new(config),
            rng: SplitMix64::new(config.seed),
            counters: FaultCounters::default(),
            pending: None,
            held: None,
            ready: VecDeque::with_capacity(4),
            current: None,
            pool: Vec::with_capacity(4),
            release: None,
        }
    }

    /// Also releases the frame a [`FaultySink`] holds back whenever this
    /// source is idle, so a reordered transmitted frame never waits for the
    /// next transmission.
    pub fn with_release(mut self, release: HeldRelease) -> Self {
        self.release = Some(release);
        self
    }

    /// The counters.
    pub fn counters(&self) -> FaultCounters {
        self.counters.clone()
    }

    /// The source has nothing now: release what is held. True when a frame
    /// is ready.
    fn on_idle(&mut self) -> bool {
        if let Some(r) = &self.release {
            r.release();
        }
        match self.held.take() {
            Some((h, dup)) => {
                if dup {
                    let d = copy_into(&mut self.pool, &h);
                    self.ready.push_back(h);
                    self.ready.push_back(d);
                } else {
                    self.ready.push_back(h);
                }
                true
            }
            None => false,
        }
    }
}

impl<S: FrameSource> FrameSource for Faulty<S> {
    fn flow_controlled(&self) -> bool {
        self.inner.flow_controlled()
    }

    fn slack(&self) -> Duration {
        self.inner.slack()
    }

    fn poll(&mut self, now: Duration) -> SourcePoll<'_> {
        if let Some(b) = self.current.take() {
            self.pool.push(b);
        }
        let mut consumed = 0;
        loop {
            if let Some(b) = self.ready.pop_front() {
                bump(&self.counters.0.delivered);
                let b = self.current.insert(b);
                return SourcePoll::Frame(b);
            }
            if consumed == MAX_FRAMES_PER_POLL {
                return SourcePoll::Until(now);
            }
            let fate = match self.pending.take() {
                Some(f) => f,
                None => draw(&mut self.rng, &self.t),
            };
            let c = &self.counters.0;
            match self.inner.poll(now) {
                SourcePoll::Until(t) => {
                    self.pending = Some(fate);
                    if self.on_idle() {
                        continue;
                    }
                    return SourcePoll::Until(t);
                }
                SourcePoll::Done => {
                    self.pending = Some(fate);
                    if self.on_idle() {
                        continue;
                    }
                    return SourcePoll::Done;
                }
                SourcePoll::Frame(f) => {
                    consumed += 1;
                    bump(&c.frames);
                    if fate.lose {
                        bump(&c.lost);
                        continue;
                    }
                    let mut b = copy_into(&mut self.pool, f);
                    if fate.corrupt && corrupt(&mut b, fate.bits) {
                        bump(&c.corrupted);
                    }
                    if fate.dup {
                        bump(&c.duplicated);
                    }
                    if fate.reorder && self.held.is_none() {
                        bump(&c.reordered);
                        self.held = Some((b, fate.dup));
                        continue;
                    }
                    if fate.dup {
                        let d = copy_into(&mut self.pool, &b);
                        self.ready.push_back(b);
                        self.ready.push_back(d);
                    } else {
                        self.ready.push_back(b);
                    }
                    if let Some((h, dup)) = self.held.take() {
                        if dup {
                            let d = copy_into(&mut self.pool, &h);
                            self.ready.push_back(h);
                            self.ready.push_back(d);
                        } else {
                            self.ready.push_back(h);
                        }
                    }
                }
            }
        }
    }
}

/// Wall-clock time since the Unix epoch, for frames a sink releases outside
/// a transmission.
fn wall_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

struct SinkStage<K> {
    inner: K,
    t: Thresholds,
    rng: SplitMix64,
    counters: FaultCounters,
    held: Option<(Vec<u8>, bool)>,
    /// The buffer of a corrupted frame.
    scratch: Vec<u8>,
    /// The buffer the next held frame goes into.
    spare: Vec<u8>,
}

impl<K: FrameSink> SinkStage<K> {
    fn emit_held(&mut self, ts: Duration, holding: &AtomicBool) {
        if let Some((h, dup)) = self.held.take() {
            holding.store(false, Ordering::Release);
            self.inner.frame(ts, &h);
            bump(&self.counters.0.delivered);
            if dup {
                self.inner.frame(ts, &h);
                bump(&self.counters.0.delivered);
            }
            self.spare = h;
        }
    }
}

struct SinkShared<K> {
    stage: Mutex<SinkStage<K>>,
    /// True while a frame is held (checked without the lock).
    holding: AtomicBool,
}

impl<K> SinkShared<K> {
    fn lock(&self) -> std::sync::MutexGuard<'_, SinkStage<K>> {
        self.stage.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Releases what a [`FaultySink`] holds back (see [`FaultySink::release_handle`]).
#[derive(Clone)]
pub struct HeldRelease(Arc<dyn ReleaseHeld>);

impl std::fmt::Debug for HeldRelease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HeldRelease")
    }
}

impl HeldRelease {
    /// Sends the held frame (if any) on to the wrapped sink now. Cheap when
    /// nothing is held: one atomic load.
    pub fn release(&self) {
        self.0.release();
    }
}

trait ReleaseHeld: Send + Sync {
    fn release(&self);
}

impl<K: FrameSink> ReleaseHeld for SinkShared<K> {
    fn release(&self) {
        if self.holding.load(Ordering::Acquire) {
            self.lock().emit_held(wall_now(), &self.holding);
        }
    }
}

/// A sink with faults (see the module docs).
pub struct FaultySink<K> {
    shared: Arc<SinkShared<K>>,
    counters: FaultCounters,
}

impl<K> std::fmt::Debug for FaultySink<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultySink")
            .field("counters", &self.counters)
            .finish()
    }
}

/// The seed of the sink's decisions, apart from the source's.
fn sink_seed(seed: u64) -> u64 {
    SplitMix64::new(seed ^ 0x7f4a_7c15_9e37_79b9).next_u64()
}

impl<K: FrameSink + 'static> FaultySink<K> {
    /// Wraps `inner`; decisions are seeded from `config.seed` (a different
    /// sequence from a [`Faulty`] source with the same configuration).
    pub fn new(inner: K, config: &FaultConfig) -> FaultySink<K> {
        let counters = FaultCounters::default();
        FaultySink {
            shared: Arc::new(SinkShared {
                stage: Mutex::new(SinkStage {
                    inner,
                    t: Thresholds::new(config),
                    rng: SplitMix64::new(sink_seed(config.seed)),
                    counters: counters.clone(),
                    held: None,
                    scratch: Vec::new(),
                    spare: Vec::new(),
                }),
                holding: AtomicBool::new(false),
            }),
            counters,
        }
    }

    /// The counters.
    pub fn counters(&self) -> FaultCounters {
        self.counters.clone()
    }

    /// A handle that releases the held frame from elsewhere (give it to
    /// [`Faulty::with_release`]).
    pub fn release_handle(&self) -> HeldRelease {
        HeldRelease(self.shared.clone())
    }
}

impl<K: FrameSink> FrameSink for FaultySink<K> {
    fn frame(&mut self, ts: Duration, data: &[u8]) {
        let mut g = self.shared.lock();
        let st = &mut *g;
        let c = &st.counters.0;
        bump(&c.frames);
        let fate = draw(&mut st.rng, &st.t);
        if fate.lose {
            bump(&c.lost);
            return;
        }
        let data: &[u8] = if fate.corrupt {
            st.scratch.clear();
            st.scratch.extend_from_slice(data);
            if corrupt(&mut st.scratch, fate.bits) {
                bump(&c.corrupted);
            }
            &st.scratch
        } else {
            data
        };
        if fate.dup {
            bump(&c.duplicated);
        }
        if fate.reorder && st.held.is_none() {
            bump(&c.reordered);
            let mut h = std::mem::take(&mut st.spare);
            h.clear();
            h.extend_from_slice(data);
            st.held = Some((h, fate.dup));
            self.shared.holding.store(true, Ordering::Release);
            return;
        }
        st.inner.frame(ts, data);
        bump(&c.delivered);
        if fate.dup {
            st.inner.frame(ts, data);
            bump(&c.delivered);
        }
        st.emit_held(ts, &self.shared.holding);
    }

    fn flush(&mut self) {
        let mut g = self.shared.lock();
        g.emit_held(wall_now(), &self.shared.holding);
        g.inner.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::MemorySink;

    /// Frame `i`: 100 bytes, its index in bytes 14..22, the rest a pattern.
    fn frame(i: u64, vlan: bool) -> Vec<u8> {
        let mut f = vec![0u8; 100];
        f[..6].copy_from_slice(&[0x52, 0x54, 0, 0x12, 0x34, 0x56]);
        f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
        if vlan {
            f[12..14].copy_from_slice(&[0x81, 0x00]);
            f[14..16].copy_from_slice(&[0x00, 0x05]);
            f[16..18].copy_from_slice(&[0x08, 0x00]);
        } else {
            f[12..14].copy_from_slice(&[0x08, 0x00]);
        }
        let at = corrupt_from(&f);
        f[at..at + 8].copy_from_slice(&i.to_be_bytes());
        for (k, b) in f[at + 8..].iter_mut().enumerate() {
            *b = (k as u8).wrapping_mul(7) ^ (i as u8);
        }
        f
    }

    fn index(f: &[u8]) -> u64 {
        let at = corrupt_from(f);
        u64::from_be_bytes(f[at..at + 8].try_into().unwrap())
    }

    /// A source of `n` numbered frames that is idle (`Until`) after every
    /// `burst` frames, then Done.
    struct Numbered {
        n: u64,
        next: u64,
        burst: u64,
        in_burst: u64,
        vlan: bool,
        buf: Vec<u8>,
    }

    impl Numbered {
        fn new(n: u64, burst: u64) -> Numbered {
            Numbered {
                n,
                next: 0,
                burst,
                in_burst: 0,
                vlan: false,
                buf: Vec::new(),
            }
        }
    }

    impl FrameSource for Numbered {
        fn poll(&mut self, now: Duration) -> SourcePoll<'_> {
            if self.next == self.n {
                return SourcePoll::Done;
            }
            if self.in_burst == self.burst {
                self.in_burst = 0;
                return SourcePoll::Until(now + Duration::from_micros(1));
            }
            self.in_burst += 1;
            self.buf = frame(self.next, self.vlan);
            self.next += 1;
            SourcePoll::Frame(&self.buf)
        }
    }

    /// Everything `src` hands out until Done (bounded).
    fn drain<S: FrameSource>(src: &mut S) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for _ in 0..10_000_000 {
            match src.poll(Duration::ZERO) {
                SourcePoll::Frame(f) => out.push(f.to_vec()),
                SourcePoll::Until(_) => {}
                SourcePoll::Done => return out,
            }
        }
        panic!("source never finished");
    }

    fn cfg(loss: f64, reorder: f64, dup: f64, corrupt: f64, seed: u64) -> FaultConfig {
        FaultConfig {
            loss,
            reorder,
            dup,
            corrupt,
            seed,
        }
    }

    fn bit_diff(a: &[u8], b: &[u8]) -> Vec<usize> {
        assert_eq!(a.len(), b.len());
        let mut bits = Vec::new();
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            for k in 0..8 {
                if (x ^ y) >> k & 1 == 1 {
                    bits.push(i * 8 + k);
                }
            }
        }
        bits
    }

    /// Within `sigmas` standard deviations of a binomial(n, p) mean.
    fn near(count: u64, n: u64, p: f64, sigmas: f64) -> bool {
        let mean = n as f64 * p;
        let sd = (n as f64 * p * (1.0 - p)).sqrt();
        (count as f64 - mean).abs() <= sigmas * sd + 1.0
    }

    #[test]
    fn parse_rate_takes_fractions_and_percentages() {
        assert_eq!(parse_rate("0.1"), Ok(0.1));
        assert_eq!(parse_rate("10%"), Ok(0.1));
        assert_eq!(parse_rate(" 2.5 % "), Ok(0.025));
        assert_eq!(parse_rate("1"), Ok(1.0));
        assert_eq!(parse_rate("100%"), Ok(1.0));
        assert_eq!(parse_rate("0"), Ok(0.0));
        assert_eq!(parse_rate("1e-3"), Ok(0.001));
        for bad in [
            "", "%", "abc", "-0.1", "1.5", "101%", "-1%", "nan", "inf", "0.1%%", "1/2",
        ] {
            let e = parse_rate(bad).expect_err(bad);
            assert!(e.contains("not a rate"), "{bad}: {e}");
        }
    }

    #[test]
    fn validate_rejects_rates_outside_0_1() {
        assert!(cfg(0.0, 0.5, 1.0, 0.0, 1).validate().is_ok());
        assert!(cfg(1.5, 0.0, 0.0, 0.0, 1).validate().is_err());
        assert!(cfg(0.0, 0.0, f64::NAN, 0.0, 1).validate().is_err());
        assert!(!FaultConfig::default().is_active());
        assert!(cfg(0.0, 0.0, 0.0, 0.01, 1).is_active());
    }

    #[test]
    fn all_rates_zero_passes_every_frame_unchanged_in_order() {
        let mut src = Faulty::new(Numbered::new(5000, 7), &FaultConfig::default());
        let out = drain(&mut src);
        assert_eq!(out.len(), 5000);
        for (i, f) in out.iter().enumerate() {
            assert_eq!(f, &frame(i as u64, false));
        }
        let s = src.counters().snapshot();
        assert_eq!(
            s,
            FaultStats {
                frames: 5000,
                delivered: 5000,
                ..FaultStats::default()
            }
        );
    }

    #[test]
    fn counts_follow_the_rates_and_add_up() {
        let n = 40_000;
        let c = cfg(0.10, 0.05, 0.03, 0.02, 42);
        let mut src = Faulty::new(Numbered::new(n, 1000), &c);
        let out = drain(&mut src);
        let s = src.counters().snapshot();
        assert_eq!(s.frames, n);
        assert!(near(s.lost, n, 0.10, 5.0), "{s:?}");
        let kept = n - s.lost;
        assert!(near(s.duplicated, kept, 0.03, 5.0), "{s:?}");
        assert!(near(s.corrupted, kept, 0.02, 5.0), "{s:?}");
        // A reorder decision is not applied while a frame is held (about 5%
        // of the time), so slightly fewer than kept * 5%.
        let r = s.reordered as f64 / (kept as f64 * 0.05);
        assert!((0.85..=1.05).contains(&r), "{s:?}");
        assert_eq!(s.delivered, out.len() as u64);
        assert_eq!(s.delivered, s.frames - s.lost + s.duplicated);
    }

    #[test]
    fn same_seed_same_sequence_other_seed_other_sequence() {
        let c = cfg(0.1, 0.1, 0.1, 0.1, 7);
        let a = drain(&mut Faulty::new(Numbered::new(3000, 50), &c));
        let b = drain(&mut Faulty::new(Numbered::new(3000, 50), &c));
        assert_eq!(a, b);
        let other = drain(&mut Faulty::new(
            Numbered::new(3000, 50),
            &FaultConfig { seed: 8, ..c },
        ));
        assert_ne!(a, other);
    }

    #[test]
    fn reorder_swaps_a_frame_with_the_next_and_loses_nothing() {
        let mut src = Faulty::new(Numbered::new(10_000, 10_000), &cfg(0.0, 0.2, 0.0, 0.0, 3));
        let out = drain(&mut src);
        let idx: Vec<u64> = out.iter().map(|f| index(f)).collect();
        let mut sorted = idx.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..10_000).collect::<Vec<_>>(), "every frame once");
        assert_ne!(idx, sorted, "order changed");
        // Each frame is at most one place from where it was sent.
        for (pos, &i) in idx.iter().enumerate() {
            assert!((pos as i64 - i as i64).abs() <= 1, "frame {i} at {pos}");
        }
        let swaps = idx.windows(2).filter(|w| w[0] > w[1]).count() as u64;
        assert_eq!(swaps, src.counters().snapshot().reordered);
        assert!(swaps > 1000, "{swaps}");
    }

    #[test]
    fn held_frame_comes_out_when_the_source_goes_idle() {
        // Every frame is to be held; bursts of one frame: each must still come
        // out in the same poll, when the source says Until.
        let mut src = Faulty::new(Numbered::new(3, 1), &cfg(0.0, 1.0, 0.0, 0.0, 1));
        for i in 0..3 {
            match src.poll(Duration::ZERO) {
                SourcePoll::Frame(f) => assert_eq!(index(f), i),
                other => panic!("frame {i}: {other:?}"),
            }
        }
        assert!(matches!(src.poll(Duration::ZERO), SourcePoll::Done));
        assert_eq!(src.counters().snapshot().reordered, 3);
        // And at the end of a source (Done) too.
        let mut src = Faulty::new(Numbered::new(1, 5), &cfg(0.0, 1.0, 0.0, 0.0, 1));
        assert!(matches!(src.poll(Duration::ZERO), SourcePoll::Frame(_)));
        assert!(matches!(src.poll(Duration::ZERO), SourcePoll::Done));
    }

    #[test]
    fn corrupt_flips_one_to_three_bits_after_the_header() {
        for vlan in [false, true] {
            let mut inner = Numbered::new(2000, 2000);
            inner.vlan = vlan;
            let mut src = Faulty::new(inner, &cfg(0.0, 0.0, 0.0, 1.0, 9));
            let out = drain(&mut src);
            assert_eq!(out.len(), 2000);
            let start = if vlan { 18 } else { 14 };
            let mut flips = [0u32; MAX_FLIPS + 1];
            for (i, f) in out.iter().enumerate() {
                let bits = bit_diff(f, &frame(i as u64, vlan));
                assert!((1..=MAX_FLIPS).contains(&bits.len()), "{bits:?}");
                assert!(bits.iter().all(|&b| b >= start * 8), "{bits:?}");
                flips[bits.len()] += 1;
            }
            assert!(flips[1..].iter().all(|&n| n > 0), "{flips:?}");
            assert_eq!(src.counters().snapshot().corrupted, 2000);
        }
    }

    #[test]
    fn dup_delivers_the_same_frame_twice_in_a_row() {
        let mut src = Faulty::new(Numbered::new(1000, 1000), &cfg(0.0, 0.0, 1.0, 0.0, 1));
        let out = drain(&mut src);
        assert_eq!(out.len(), 2000);
        for (i, pair) in out.chunks(2).enumerate() {
            assert_eq!(pair[0], frame(i as u64, false));
            assert_eq!(pair[1], pair[0]);
        }
    }

    #[test]
    fn total_loss_never_spins_forever_in_one_poll() {
        struct Endless(Vec<u8>);
        impl FrameSource for Endless {
            fn poll(&mut self, _: Duration) -> SourcePoll<'_> {
                SourcePoll::Frame(&self.0)
            }
        }
        let mut src = Faulty::new(Endless(frame(0, false)), &cfg(1.0, 0.0, 0.0, 0.0, 1));
        assert!(matches!(src.poll(Duration::ZERO), SourcePoll::Until(_)));
        assert_eq!(src.counters().snapshot().lost, MAX_FRAMES_PER_POLL as u64);
    }

    #[test]
    fn too_short_frames_are_passed_not_corrupted() {
        struct One(Option<Vec<u8>>, Vec<u8>);
        impl FrameSource for One {
            fn poll(&mut self, _: Duration) -> SourcePoll<'_> {
                match self.0.take() {
                    Some(f) => {
                        self.1 = f;
                        SourcePoll::Frame(&self.1)
                    }
                    None => SourcePoll::Done,
                }
            }
        }
        let mut src = Faulty::new(
            One(Some(vec![0xAB; 14]), Vec::new()),
            &cfg(0.0, 0.0, 0.0, 1.0, 1),
        );
        assert_eq!(drain(&mut src), vec![vec![0xAB; 14]]);
        assert_eq!(src.counters().snapshot().corrupted, 0);
    }

    #[test]
    fn sink_zero_rates_pass_everything() {
        let mem = MemorySink::new();
        let mut sink = FaultySink::new(mem.clone(), &FaultConfig::default());
        for i in 0..1000 {
            sink.frame(Duration::ZERO, &frame(i, false));
        }
        let got = mem.frames();
        assert_eq!(got.len(), 1000);
        assert!(got
            .iter()
            .enumerate()
            .all(|(i, f)| *f == frame(i as u64, false)));
    }

    #[test]
    fn sink_counts_determinism_and_release() {
        let c = cfg(0.1, 0.1, 0.05, 0.05, 11);
        let run = || {
            let mem = MemorySink::new();
            let mut sink = FaultySink::new(mem.clone(), &c);
            for i in 0..20_000 {
                sink.frame(Duration::ZERO, &frame(i, false));
            }
            sink.flush();
            (mem.frames(), sink.counters().snapshot())
        };
        let (a, s) = run();
        let (b, _) = run();
        assert_eq!(a, b, "same seed, same sequence");
        assert_eq!(s.delivered, a.len() as u64);
        assert_eq!(s.delivered, s.frames - s.lost + s.duplicated);
        assert!(near(s.lost, 20_000, 0.1, 5.0), "{s:?}");
        assert!(near(s.corrupted, 20_000 - s.lost, 0.05, 5.0), "{s:?}");
        // The sink's decisions differ from a source's with the same seed.
        let src_out = drain(&mut Faulty::new(Numbered::new(20_000, 20_000), &c));
        assert_ne!(src_out, a);
    }

    #[test]
    fn sink_held_frame_is_released_by_the_handle_and_by_flush() {
        let mem = MemorySink::new();
        let mut sink = FaultySink::new(mem.clone(), &cfg(0.0, 1.0, 0.0, 0.0, 1));
        let release = sink.release_handle();
        sink.frame(Duration::ZERO, &frame(0, false));
        assert!(mem.is_empty(), "held back");
        sink.frame(Duration::ZERO, &frame(1, false));
        let got: Vec<u64> = mem.frames().iter().map(|f| index(f)).collect();
        assert_eq!(got, vec![1, 0], "released after the next frame");
        sink.frame(Duration::ZERO, &frame(2, false));
        assert_eq!(mem.len(), 2);
        release.release();
        assert_eq!(mem.len(), 3, "released by the handle");
        sink.frame(Duration::ZERO, &frame(3, false));
        sink.flush();
        assert_eq!(mem.len(), 4, "released by flush");
        // A Faulty source with the handle releases it when idle.
        sink.frame(Duration::ZERO, &frame(4, false));
        assert_eq!(mem.len(), 4);
        let mut src =
            Faulty::new(Numbered::new(0, 1), &FaultConfig::default()).with_release(release);
        assert!(matches!(src.poll(Duration::ZERO), SourcePoll::Done));
        assert_eq!(mem.len(), 5);
    }
}
