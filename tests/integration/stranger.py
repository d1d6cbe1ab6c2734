#!/usr/bin/env python3
"""stranger.py MODE SOCKET ... - a misbehaving control client for test_limits.py.

Run as a user in no group (setpriv), standard library only.  Modes:

  hold SOCKET N     open up to N connections and keep them; print {"opened": K}.
                    Then, for each line "count" on stdin, print {"open": M}: how many
                    of them the daemon has not closed.  Exit at the end of stdin.
  flood SOCKET N    send N requests over one connection as fast as the daemon reads
                    them, read every reply; print {"replies", "forbidden", "ids_echoed"}.
  idle SOCKET T [HALF]
                    connect (and send half a request line if HALF is given), then wait
                    up to T seconds for the daemon to close; print {"closed_after": S}
                    (null if it did not).
"""
import json
import select
import socket
import sys
import threading
import time


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s


def closed(s):
    """True when the daemon has closed s (nothing buffered is ever expected)."""
    try:
        return s.recv(1, socket.MSG_DONTWAIT | socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def hold(path, n):
    socks = []
    for _ in range(n):
        try:
            socks.append(connect(path))
        except OSError:
            break
    print(json.dumps({"opened": len(socks)}), flush=True)
    for line in sys.stdin:
        if line.strip() == "count":
            print(json.dumps({"open": sum(1 for s in socks if not closed(s))}), flush=True)
    for s in socks:
        s.close()


def flood(path, n):
    s = connect(path)
    s.settimeout(60)
    cmds = ["status", "record.put", "rules.reload", "no.such.command"]

    def send():
        batch = []
        for i in range(n):
            batch.append(json.dumps({"id": i, "cmd": cmds[i % len(cmds)]}).encode() + b"\n")
            if len(batch) == 500 or i == n - 1:
                s.sendall(b"".join(batch))
                batch = []
    t = threading.Thread(target=send)
    t.start()
    buf, replies, forbidden, ids = b"", 0, 0, True
    while replies < n:
        chunk = s.recv(1 << 16)
        if not chunk:
            break
        buf += chunk
        *lines, buf = buf.split(b"\n")
        for ln in lines:
            r = json.loads(ln)
            ids = ids and r.get("id") == replies
            replies += 1
            forbidden += (r.get("ok") is False and r["error"]["code"] == "forbidden")
    t.join()
    s.close()
    print(json.dumps({"replies": replies, "forbidden": forbidden, "ids_echoed": ids}))


def idle(path, timeout, half):
    s = connect(path)
    if half:
        s.sendall(b'{"id": 1, "cmd": "sta')
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        select.select([s], [], [], 0.05)
        if closed(s):
            print(json.dumps({"closed_after": time.monotonic() - t0}))
            return
    print(json.dumps({"closed_after": None}))


def main():
    mode, path = sys.argv[1], sys.argv[2]
    if mode == "hold":
        hold(path, int(sys.argv[3]))
    elif mode == "flood":
        flood(path, int(sys.argv[3]))
    elif mode == "idle":
        idle(path, float(sys.argv[3]), len(sys.argv) > 4)
    else:
        sys.exit("unknown mode %s" % mode)


if __name__ == "__main__":
    main()
