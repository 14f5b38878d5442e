#!/usr/bin/env python3
"""Puts malformed and hostile frames on IFACE (an AF_PACKET socket, inside the
test's own network namespace) towards DST_MAC / DST_IP from SRC_IP: bad
checksums, truncated headers, bogus lengths, odd TCP flag combinations,
fragments, then a flood of SYN_COUNT SYNs to TCP_PORT from FLOOD_IP, an
address on the subnet that nobody answers ARP for (so no RST ever cleans up
the half-open connections, as in a spoofed flood).
Prints how many frames of each kind it sent."""
import random
import socket
import struct
import sys

iface, dst_mac, dst_ip, src_ip, tcp_port, syn_count, flood_ip = sys.argv[1:8]
tcp_port, syn_count = int(tcp_port), int(syn_count)
dst_mac = bytes.fromhex(dst_mac.replace(":", ""))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
src_mac = s.getsockname()[4][:6]
rng = random.Random(11)
dst = socket.inet_aton(dst_ip)
src = socket.inet_aton(src_ip)


def csum(b):
    if len(b) % 2:
        b += b"\0"
    t = sum(struct.unpack(f"!{len(b)//2}H", b))
    while t >> 16:
        t = (t & 0xFFFF) + (t >> 16)
    return ~t & 0xFFFF


def eth(payload, ethertype=0x0800):
    return dst_mac + src_mac + struct.pack("!H", ethertype) + payload


def ip(proto, payload, total=None, ihl=5, frag=0, good=True, s_ip=src):
    total = 20 + len(payload) if total is None else total
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, total, rng.getrandbits(16), frag, 64, proto, 0, s_ip, dst)
    c = csum(h)
    if not good:
        c ^= 0x1234
    return h[:10] + struct.pack("!H", c) + h[12:] + payload


def tcp(sport, dport, flags, seq=0, ack=0, data=b"", good=True, s_ip=src, doff=5):
    h = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, doff << 4, flags, 65535, 0, 0)
    pseudo = s_ip + dst + struct.pack("!BBH", 0, 6, len(h) + len(data))
    c = csum(pseudo + h + data)
    if not good:
        c ^= 0x4321
    return h[:16] + struct.pack("!H", c) + h[18:] + data


def udp(sport, dport, data, good=True, length=None):
    length = 8 + len(data) if length is None else length
    h = struct.pack("!HHHH", sport, dport, length, 0)
    pseudo = src + dst + struct.pack("!BBH", 0, 17, 8 + len(data))
    c = csum(pseudo + h + data) or 0xFFFF
    if not good:
        c ^= 0x1111
    return h[:6] + struct.pack("!H", c) + data


counts = {}


def send(kind, frame, times=1):
    for _ in range(times):
        s.send(frame)
    counts[kind] = counts.get(kind, 0) + times


send("ipv4_bad_header_checksum", eth(ip(6, tcp(1000, tcp_port, 0x02), good=False)), 50)
send("ipv4_truncated_header", eth(b"\x45\x00\x00"), 50)
send("ipv4_bad_ihl", eth(ip(6, tcp(1000, tcp_port, 0x02), ihl=3)), 50)
send("ipv4_total_length_beyond_frame", eth(ip(17, udp(1, 7, b"x"), total=1400)), 50)
send("ipv4_total_length_below_header", eth(ip(17, udp(1, 7, b"x"), total=10)), 50)
send("tcp_bad_checksum", eth(ip(6, tcp(1001, tcp_port, 0x02, good=False))), 50)
send("tcp_truncated", eth(ip(6, tcp(1002, tcp_port, 0x02)[:10])), 50)
send("tcp_bad_data_offset", eth(ip(6, tcp(1003, tcp_port, 0x02, doff=15))), 50)
for flags in (0x00, 0x03, 0x06, 0x07, 0x3F, 0x29, 0x01, 0x04, 0x11, 0x18):
    send(f"tcp_flags_{flags:#04x}", eth(ip(6, tcp(rng.randint(1024, 65535), tcp_port, flags, seq=rng.getrandbits(32), ack=rng.getrandbits(32), data=b"junk"))), 20)
send("udp_bad_checksum", eth(ip(17, udp(2000, 7, b"hello", good=False))), 50)
send("udp_bogus_length", eth(ip(17, udp(2001, 7, b"hello", length=500))), 50)
send("icmp_bad_checksum", eth(ip(1, b"\x08\x00\xde\xad\x00\x01\x00\x01payload")), 50)
send("ipv4_fragment_junk", eth(ip(17, b"\x00" * 64, frag=0x2000 | 100)), 50)
send("arp_truncated", eth(b"\x00\x01\x08\x00\x06\x04", 0x0806), 50)
send("unknown_ethertype", eth(b"\x00" * 46, 0x88B5), 50)
send("runt_frame", dst_mac + src_mac + b"\x08\x00", 50)

flood = socket.inet_aton(flood_ip)
flood_frames = []
for i in range(syn_count):
    sport = 1024 + (i % 60000)
    seg = tcp(sport, tcp_port, 0x02, seq=rng.getrandbits(32), s_ip=flood)
    flood_frames.append(eth(ip(6, seg, s_ip=flood)))
for f in flood_frames:
    s.send(f)
counts["syn_flood"] = syn_count
print(" ".join(f"{k}={v}" for k, v in counts.items()))
