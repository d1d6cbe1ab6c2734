#!/usr/bin/env python3
"""client.py SOCKET REQUESTS_JSON - a minimal control client for the tests.

Run as another user (setpriv) by test_auth.py. REQUESTS_JSON is a JSON array of
{"cmd", "args"?}; the requests are sent over one connection with ids 1..N and the
replies are printed as one JSON array on stdout. Exit 0, or 2 when the socket
cannot be reached (the errno name is printed on stderr).
"""
import errno
import json
import socket
import sys


def main():
    path, reqs = sys.argv[1], json.loads(sys.argv[2])
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    try:
        s.connect(path)
    except OSError as e:
        print("connect: %s" % errno.errorcode.get(e.errno, e.errno), file=sys.stderr)
        return 2
    out = []
    buf = b""
    for i, r in enumerate(reqs, 1):
        req = {"id": i, "cmd": r["cmd"]}
        if "args" in r:
            req["args"] = r["args"]
        s.sendall(json.dumps(req).encode() + b"\n")
        while b"\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                print("connection closed", file=sys.stderr)
                print(json.dumps(out))
                return 3
            buf += chunk
        line, buf = buf.split(b"\n", 1)
        out.append(json.loads(line))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
