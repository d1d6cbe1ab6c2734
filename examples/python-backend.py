#!/usr/bin/env python3
"""A retentiond backend in Python (standard library only): deletes files below ROOT.

usage: python-backend.py SOCKET ROOT

It speaks retention-backend(7): one JSON object per line each way; it answers the
daemon's hello, runs every job on a thread of its own and answers each with a result.
A path outside ROOT or through a symbolic link fails for good; a missing file is
"gone", so a job sent again after a lost result is harmless.
"""
import errno, json, os, signal, socket, stat, sys, threading

SOCKET, ROOT = sys.argv[1], os.path.realpath(sys.argv[2])


def delete(path):
    """Unlink path below ROOT, following no symbolic link: (status, error, retry)."""
    parts = [p for p in path[len(ROOT):].split("/") if p not in ("", ".")]
    if not path.startswith(ROOT + "/") or not parts or ".." in parts:
        return "failed", "not a path below " + ROOT, False
    fd = os.open(ROOT, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for i, name in enumerate(parts):
            mode = os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode
            if stat.S_ISLNK(mode) and i < len(parts) - 1:
                return "failed", "goes through a symbolic link", False
            if stat.S_ISDIR(mode) and i == len(parts) - 1:
                return "failed", "is a directory", False
            if i < len(parts) - 1:
                sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                os.close(fd)
                fd = sub
        os.unlink(parts[-1], dir_fd=fd)
        return "done", None, None
    except (FileNotFoundError, NotADirectoryError):
        return "gone", None, None
    except OSError as e:
        return "failed", os.strerror(e.errno), e.errno != errno.ELOOP
    finally:
        os.close(fd)


def run(job, send):
    locator = (job.get("record") or {}).get("locator") or {}
    if job.get("action") != "delete" or not isinstance(locator.get("path"), str):
        status, error, retry = "failed", "needs action delete and locator.path", False
    else:
        status, error, retry = delete(locator["path"])
    result = {"type": "result", "job": job["job"], "status": status}
    if status == "failed":
        result.update(error=error, retry=retry)
    send(result)


def serve(conn):
    lock, f = threading.Lock(), conn.makefile("rwb")

    def send(msg):
        with lock:
            try:
                f.write(json.dumps(msg).encode() + b"\n")
                f.flush()
            except (OSError, ValueError):
                pass  # the daemon went away; it sends the job again

    try:
        hello = json.loads(f.readline() or "null")
        if not isinstance(hello, dict) or hello.get("type") != "hello":
            return
        send({"type": "hello", "protocol": 1, "name": "python-backend",
              "actions": ["delete"]})
        if hello.get("protocol") != 1:
            return
        for line in f:
            try:
                job = json.loads(line)
                if job.get("type") == "job" and isinstance(job.get("job"), str):
                    threading.Thread(target=run, args=(job, send)).start()
            except (ValueError, AttributeError):
                print("ignoring a line that is not a job", file=sys.stderr)
    except OSError:
        pass


def main():
    if os.path.exists(SOCKET) and stat.S_ISSOCK(os.lstat(SOCKET).st_mode):
        os.unlink(SOCKET)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(SOCKET)
    srv.listen()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # running jobs still finish
    try:
        while True:
            conn, _ = srv.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()
    finally:
        os.unlink(SOCKET)


if __name__ == "__main__":
    main()
