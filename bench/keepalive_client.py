"""N keep-alive GETs, one after another, each response read whole (Content-Length) and checked
for 200: the load of the callgrind scripts, which count instructions per request.

    python3 bench/keepalive_client.py ADDRESS TARGET COUNT

ADDRESS is a Unix socket path, or a TCP port on 127.0.0.1 (all digits).
"""
import socket
import sys

address, target, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
if address.isdigit():
    s = socket.create_connection(("127.0.0.1", int(address)))
else:
    s = socket.socket(socket.AF_UNIX)
    s.connect(address)
request, buffer = f"GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode(), b""
for _ in range(count):
    s.sendall(request)
    while True:
        end = buffer.find(b"\r\n\r\n")
        if end >= 0:
            head = buffer[:end].decode()
            assert head.startswith("HTTP/1.1 200"), head
            length = int(next(l for l in head.split("\r\n") if l.lower().startswith("content-length:")).split(":")[1])
            if len(buffer) >= end + 4 + length:
                buffer = buffer[end + 4 + length:]
                break
        data = s.recv(65536)
        if not data:
            sys.exit("closed")
        buffer += data
