#!/usr/bin/env python3
"""UDP echo client: sends COUNT datagrams to HOST PORT with at most WINDOW
outstanding, each carrying its sequence number and a seeded payload of 1..1400
bytes, and checks every echo byte for byte. Prints 'sent N received N bad N
missing N' and exits non-zero unless every datagram came back intact."""
import random
import socket
import sys
import time

host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
window = int(sys.argv[4]) if len(sys.argv) > 4 else 32
rng = random.Random(7)
payloads = {}
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
s.settimeout(2.0)
sent = received = bad = 0
next_seq = 0
deadline = time.time() + 120
while (next_seq < count or payloads) and time.time() < deadline:
    while next_seq < count and len(payloads) < window:
        n = rng.randint(1, 1400)
        body = next_seq.to_bytes(4, "big") + bytes(rng.getrandbits(8) for _ in range(n))
        payloads[next_seq] = body
        s.sendto(body, (host, port))
        sent += 1
        next_seq += 1
    try:
        data, _ = s.recvfrom(65536)
    except socket.timeout:
        break
    seq = int.from_bytes(data[:4], "big") if len(data) >= 4 else -1
    if payloads.get(seq) == data:
        del payloads[seq]
        received += 1
    else:
        bad += 1
print(f"sent {sent} received {received} bad {bad} missing {len(payloads)}")
sys.exit(0 if received == count and bad == 0 else 1)
