#!/usr/bin/env python3
"""Host side of the QEMU -netdev dgram links: inject Ethernet frames into the
guest's NICs and count what the guest transmits (one frame per UDP datagram,
127.0.0.1 only).

usage: qemu/udp-frames.py [--interval S] [--duration S] NAME=QPORT:HPORT...

For each link, binds 127.0.0.1:HPORT, sends a test frame (broadcast, ethertype
0x88B5, payload "igbpoll-udp-frames NAME SEQ") to 127.0.0.1:QPORT every
--interval seconds, and counts received frames by source MAC and ethertype.
Stops after --duration seconds or on SIGTERM/SIGINT and prints one summary
line per link:  udp-frames: NAME sent=N received=M from=MAC/ETHERTYPE:COUNT,...
"""
import argparse, select, signal, socket, sys, time

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--interval", type=float, default=0.25)
    ap.add_argument("--duration", type=float, default=120.0)
    ap.add_argument("links", nargs="+", metavar="NAME=QPORT:HPORT")
    a = ap.parse_args()
    links = []
    for spec in a.links:
        try:
            name, ports = spec.split("=", 1)
            q, h = (int(p) for p in ports.split(":"))
        except ValueError:
            ap.error(f"bad link {spec!r}: want NAME=QPORT:HPORT")
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", h))
        s.setblocking(False)
        links.append({"name": name, "q": q, "sock": s, "sent": 0, "rx": {}})
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    end = time.monotonic() + a.duration
    next_tx = time.monotonic()
    while not stop and time.monotonic() < end:
        now = time.monotonic()
        if now >= next_tx:
            for l in links:
                payload = f"igbpoll-udp-frames {l['name']} {l['sent']}".encode()
                frame = b"\xff" * 6 + bytes.fromhex("020000000001") + b"\x88\xb5" + payload
                frame += b"\0" * max(0, 60 - len(frame))
                try:
                    l["sock"].sendto(frame, ("127.0.0.1", l["q"]))
                    l["sent"] += 1
                except OSError:
                    pass  # QEMU not listening yet (ECONNREFUSED from an earlier send)
            next_tx = now + a.interval
        try:
            r, _, _ = select.select([l["sock"] for l in links], [], [], max(0.0, min(next_tx, end) - time.monotonic()))
        except InterruptedError:
            continue
        for l in links:
            if l["sock"] in r:
                try:
                    while True:
                        f = l["sock"].recv(65536)
                        if len(f) >= 14:
                            key = f"{f[6:12].hex(':')}/{f[12:14].hex()}"
                            l["rx"][key] = l["rx"].get(key, 0) + 1
                except (BlockingIOError, ConnectionRefusedError):
                    pass
    for l in links:
        rx = ",".join(f"{k}:{v}" for k, v in sorted(l["rx"].items())) or "-"
        print(f"udp-frames: {l['name']} sent={l['sent']} received={sum(l['rx'].values())} from={rx}", flush=True)

if __name__ == "__main__":
    sys.exit(main())
