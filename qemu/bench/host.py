#!/usr/bin/env python3
"""Host side of qemu/bench-vs-kernel.sh.

  host.py boot --nic igb|e1000 --qport Q --dump FILE --tsv OUT [--label L] -- RUN_GUEST_CMD...
      Runs the guest (qemu/run-guest.sh ...), echoes its "BENCH" lines and keeps
      the whole serial log in the command's own log. On every
      "BENCH-GO run=R nic=N burst=B count=C rate=P hold_ms=H" line it waits H ms
      (the e1000's RCTL hold) and injects burst B into 127.0.0.1:Q:
        a NAME ending in 60: C frames of 60 bytes;
        any other NAME: C frames of 60..1514 bytes (sizes from a fixed seed,
                 the same sequence every time);
      paced at P frames/s (P = 0: back to back, as fast as Python can).
      Frames: dst = the NIC's MAC, src 02:00:00:00:00:01, ethertype 0x88B5,
      payload "IGBPB", the run number (1 byte) and a sequence number (4 bytes).
      After the guest powers off, the QEMU filter-dump pcap (FILE) gives per run
      the frames QEMU actually read from its UDP socket. Appends one TSV row per
      run to OUT.
  host.py table OUT.tsv...
      Prints the table of every row.
"""
import argparse, os, random, socket, struct, subprocess, sys, threading, time

MAC = {"igb": bytes.fromhex("525400123456"), "e1000": bytes.fromhex("525400123457")}
SRC = bytes.fromhex("020000000001")
MAGIC = b"IGBPB"
FIELDS = ["label", "nic", "capturer", "burst", "offered", "rate", "host_kpps", "reached_qemu",
          "nic_rx", "captured", "window_ms", "busy_ticks", "idle_ticks", "proc_ticks", "rc", "elapsed_ms"]


def frames(nic, run, burst, count):
    rnd = random.Random(1)
    out = []
    for seq in range(count):
        size = 60 if burst.endswith("60") else rnd.randint(60, 1514)
        f = MAC[nic] + SRC + b"\x88\xb5" + MAGIC + bytes([run & 0xFF]) + struct.pack(">I", seq)
        out.append(f + bytes(size - len(f)))
    return out


def inject(sock, port, fr, rate):
    dst = ("127.0.0.1", port)
    sent = 0
    t0 = time.monotonic()
    for i, f in enumerate(fr):
        if rate:
            delay = t0 + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        try:
            sock.sendto(f, dst)
            sent += 1
        except OSError:
            pass
    return sent, time.monotonic() - t0


def count_dump(path):
    """Frames per run number in a QEMU filter-dump pcap (both directions)."""
    per = {}
    try:
        data = open(path, "rb").read()
    except OSError:
        return per
    if len(data) < 24:
        return per
    endian = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    off = 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if len(pkt) >= 20 and pkt[6:12] == SRC and pkt[12:14] == b"\x88\xb5" and pkt[14:19] == MAGIC:
            per[pkt[19]] = per.get(pkt[19], 0) + 1
    return per


def kv(line):
    return dict(w.split("=", 1) for w in line.split() if "=" in w)


def boot(a):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    sock.bind(("127.0.0.1", 0))
    sent = {}
    threads = []

    def go(g):
        run = int(g["run"])
        fr = frames(a.nic, run, g["burst"], int(g["count"]))
        time.sleep(int(g["hold_ms"]) / 1000)
        n, secs = inject(sock, a.qport, fr, int(g["rate"]))
        sent[run] = (n, secs)
        print(f"bench-host: run {run} {g['capturer']} {g['burst']}: sent {n} frames in {secs:.3f} s "
              f"({n / secs / 1000 if secs else 0:.1f} kpps)", flush=True)

    results = []
    p = subprocess.Popen(a.cmd, stdout=subprocess.PIPE, text=True, errors="replace")
    for line in p.stdout:
        line = line.rstrip("\r\n")
        if "BENCH" in line or "IGBPOLL-GUEST: error" in line or "igbpoll" in line.lower() or line.startswith("  |"):
            print(line, flush=True)
        i = line.find("BENCH-GO ")
        if i >= 0:
            t = threading.Thread(target=go, args=(kv(line[i:]),))
            t.start()
            threads.append(t)
        i = line.find("BENCH-RESULT ")
        if i >= 0:
            results.append(kv(line[i:]))
    rc = p.wait()
    for t in threads:
        t.join()
    dumped = count_dump(a.dump)
    with open(a.tsv, "a") as o:
        for r in results:
            run = int(r["run"])
            n, secs = sent.get(run, (0, 0.0))
            row = dict(r, label=a.label, offered=str(n), rate=r.get("rate", "?"),
                       host_kpps=f"{n / secs / 1000:.0f}" if secs else "?",
                       reached_qemu=str(dumped.get(run & 0xFF, 0)) if dumped else "?")
            o.write("\t".join(row.get(k, "?") for k in FIELDS) + "\n")
    return rc


def table(paths):
    rows = []
    for p in paths:
        for line in open(p):
            rows.append(dict(zip(FIELDS, line.rstrip("\n").split("\t"))))
    hdr = ("run", "model", "capturer", "burst", "offered", "host-kpps", "reached-QEMU", "NIC-rx",
           "captured", "window-s", "guest-CPU-ms", "busy%", "tick-busy-ms", "proc-CPU-ms", "CPU-us/packet", "proc-us/packet")
    out = []
    for r in rows:
        def num(k):
            try:
                return int(r[k])
            except (KeyError, ValueError):
                return None
        busy, idle, proc, cap = num("busy_ticks"), num("idle_ticks"), num("proc_ticks"), num("captured")
        el = num("elapsed_ms")
        tick_ms = busy * 10 if busy is not None else None  # USER_HZ = 100
        busy_ms = max(0, el - idle * 10) if el is not None and idle is not None else None
        proc_ms = proc * 10 if proc is not None else None
        out.append((
            r["label"], r["nic"], "tcpdump+kernel" if r["capturer"] == "kernel" else "igbpoll",
            r["burst"], r["offered"], r["host_kpps"], r["reached_qemu"], r["nic_rx"], r["captured"],
            f"{int(r['window_ms']) / 1000:.1f}",
            str(busy_ms) if busy_ms is not None else "?",
            f"{100 * busy_ms / el:.0f}" if busy_ms is not None and el else "?",
            str(tick_ms) if tick_ms is not None else "?",
            str(proc_ms) if proc_ms is not None else "?",
            f"{1000 * busy_ms / cap:.0f}" if cap else "-",
            f"{1000 * proc_ms / cap:.0f}" if cap else "-",
        ))
    w = [max(len(h), *(len(o[i]) for o in out)) if out else len(h) for i, h in enumerate(hdr)]
    fmt = lambda cols: "  ".join(c.ljust(w[i]) if i < 4 else c.rjust(w[i]) for i, c in enumerate(cols))
    print(fmt(hdr))
    for o in out:
        print(fmt(o))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd_name", required=True)
    b = sub.add_parser("boot")
    b.add_argument("--nic", choices=sorted(MAC), required=True)
    b.add_argument("--qport", type=int, required=True)
    b.add_argument("--dump", required=True)
    b.add_argument("--tsv", required=True)
    b.add_argument("--label", default="1")
    b.add_argument("cmd", nargs="+")
    t = sub.add_parser("table")
    t.add_argument("tsv", nargs="+")
    a = ap.parse_args()
    if a.cmd_name == "boot":
        return boot(a)
    table(a.tsv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
