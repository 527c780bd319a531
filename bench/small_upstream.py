"""The upstream of the callgrind proxy benchmarks: HTTP/1.1 keep-alive on 127.0.0.1:PORT, every
request answered with the same 128-byte body, head and body in one send (so no Nagle/delayed-ACK
stall: see quickack.sh for that case), one thread per connection.

    python3 bench/small_upstream.py PORT
"""
import socket
import sys
import threading

BODY = b"x" * 128
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 128\r\n\r\n" + BODY


def serve(conn: socket.socket) -> None:
    buffer = b""
    with conn:
        while True:
            while b"\r\n\r\n" not in buffer:
                data = conn.recv(65536)
                if not data:
                    return
                buffer += data
            buffer = buffer[buffer.index(b"\r\n\r\n") + 4:]
            conn.sendall(RESPONSE)


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(64)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
