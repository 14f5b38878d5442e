#!/usr/bin/env python3
"""Write a classic pcap of 60-byte Ethernet/IPv4/UDP frames (64 on the wire with FCS).

    mkpcap.py OUT COUNT [MATCH_EVERY]

Every MATCH_EVERY-th frame (1 = all) goes to UDP port 4001; the others go to
ports 5000..5999 (and come from other source ports), so `udp port 4001` accepts
exactly 1 in MATCH_EVERY.  Destination MAC 02:00:00:00:00:02 belongs to no
interface: on a veth in promiscuous mode the frame reaches the packet taps
(tcpdump) and is then dropped as PACKET_OTHERHOST before IP, the cheapest
kernel receive path there is.
"""
import struct
import sys


def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def frame(i, match):
    dport = 4001 if match else 5000 + i % 1000
    sport = 4000 if match else 6000 + i % 1000
    payload = struct.pack("!Q", i) + bytes(10)  # 18 bytes: 14 + 20 + 8 + 18 = 60
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xFFFF, 0, 64, 17, 0,
                     bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    eth = bytes.fromhex("020000000002" "020000000001") + b"\x08\x00"
    f = eth + ip + udp
    assert len(f) == 60
    return f


def main():
    out, count = sys.argv[1], int(sys.argv[2])
    every = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    with open(out, "wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        buf = []
        for i in range(count):
            f = frame(i, i % every == 0)
            buf.append(struct.pack("<IIII", i // 1_000_000, i % 1_000_000, 60, 60) + f)
            if len(buf) >= 65536:
                fh.write(b"".join(buf))
                buf.clear()
        fh.write(b"".join(buf))


if __name__ == "__main__":
    main()
