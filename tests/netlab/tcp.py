#!/usr/bin/env python3
"""A tiny TCP server and client for the network lab's own test.

  tcp.py serve ADDR PORT SECONDS   accept for SECONDS; answer each connection
                                   with "hello <peer address>" and print the
                                   peer's address, one a line
  tcp.py connect ADDR PORT SECONDS connect (bounded by SECONDS), print the
                                   server's line; exit 1 when that fails
"""
import socket
import sys
import time


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def serve(addr, port, seconds):
    s = socket.socket(family(addr), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(8)
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        s.settimeout(left)
        try:
            c, peer = s.accept()
        except socket.timeout:
            break
        with c:
            c.sendall(f"hello {peer[0]}\n".encode())
        print(peer[0], flush=True)


def connect(addr, port, seconds):
    try:
        with socket.create_connection((addr, port), timeout=seconds) as c:
            c.settimeout(seconds)
            line = c.makefile().readline().strip()
    except OSError as e:
        print(f"connect {addr}:{port}: {e}", file=sys.stderr)
        return 1
    if not line.startswith("hello "):
        print(f"connect {addr}:{port}: unexpected answer {line!r}", file=sys.stderr)
        return 1
    print(line)
    return 0


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in ("serve", "connect"):
        print(__doc__, file=sys.stderr)
        return 2
    _, cmd, addr, port, seconds = sys.argv
    if cmd == "serve":
        serve(addr, int(port), float(seconds))
        return 0
    return connect(addr, int(port), float(seconds))


if __name__ == "__main__":
    sys.exit(main())
