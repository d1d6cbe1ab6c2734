#!/usr/bin/env python3
"""A retentiond backend in Python (standard library only): deletes files below ROOT
and lists them.

usage: python-backend.py SOCKET ROOT [CATEGORY]

It speaks retention-backend(7): one JSON object per line each way; it answers the
daemon's hello, runs every job on a thread of its own and answers each with a result.
A path outside ROOT or through a symbolic link fails for good; a missing file is
"gone", so a job sent again after a lost result is harmless. With protocol 2 it scans:
every regular file below ROOT is a record of CATEGORY (default "file") whose id and
locator are its path, with its mtime as the event "modified".
With NOTIFY_TO set in its environment (an address) it also takes notices: a job of action
"notice" announcing a deletion becomes a mail to NOTIFY_TO (from NOTIFY_FROM, default
retentiond@localhost), composed from the job's fields and handed to SENDMAIL (default
/usr/sbin/sendmail) as "sendmail -t -oi" on its standard input, no shell.
"""
import email.message, errno, json, os, signal, socket, stat, subprocess, sys, threading

SENDMAIL = os.environ.get("SENDMAIL", "/usr/sbin/sendmail")
NOTIFY_TO, NOTIFY_FROM = os.environ.get("NOTIFY_TO"), os.environ.get("NOTIFY_FROM",
                                                                     "retentiond@localhost")

SOCKET, ROOT = sys.argv[1], os.path.realpath(sys.argv[2])
CATEGORY = sys.argv[3] if len(sys.argv) > 3 else "file"


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


def notice(job):
    """Mail the notice of job: (status, error, retry). The headers carry only what the job
    does (its id, the action and its deadline); the record's id is in the body."""
    rec = job.get("record") or {}
    msg = email.message.EmailMessage()
    msg["To"], msg["From"] = NOTIFY_TO, NOTIFY_FROM
    msg["Subject"] = "Notice: %s due %s" % (job.get("announces"), job.get("deadline"))
    msg["Message-ID"] = "<%s@retentiond>" % job["job"]  # the same notice, the same id
    msg.set_content("Record %s (category %s) will be %s at %s under rule %s.\n"
                    "Notice %s, attempt %s.\n" % (
                        rec.get("id"), rec.get("category"),
                        "deleted" if job.get("announces") == "delete" else "anonymized",
                        job.get("deadline"), job.get("rule"), job["job"], job.get("attempt")))
    try:
        p = subprocess.run([SENDMAIL, "-t", "-oi"], input=msg.as_bytes(), timeout=60,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    except (OSError, subprocess.TimeoutExpired) as e:
        return "failed", "sendmail: %s" % (e.strerror if isinstance(e, OSError) else
                                          "timed out"), True
    if p.returncode != 0:
        return "failed", "sendmail exited %d" % p.returncode, True
    return "done", None, None


def run(job, send):
    locator = (job.get("record") or {}).get("locator") or {}
    if job.get("action") == "notice" and NOTIFY_TO:
        status, error, retry = notice(job)
    elif job.get("action") != "delete" or not isinstance(locator.get("path"), str):
        status, error, retry = "failed", "needs action delete and locator.path", False
    else:
        status, error, retry = delete(locator["path"])
    result = {"type": "result", "job": job["job"], "status": status}
    if status == "failed":
        result.update(error=error, retry=retry)
    send(result)


class Scan:
    """One scan: pages of at most 1000 records and 192 KiB, page seq sent only once the
    daemon acknowledged page seq - window; then the end marker."""

    def __init__(self, msg, send):
        self.id, self.window, self.send = msg["scan"], int(msg["window"]), send
        self.acked, self.cancelled, self.done = 0, False, False
        self.cv = threading.Condition()

    def ack(self, seq):
        with self.cv:
            self.acked = max(self.acked, int(seq))
            self.cv.notify()

    def cancel(self):
        with self.cv:
            self.cancelled = True
            self.cv.notify()

    def page(self, seq, records):
        with self.cv:
            self.cv.wait_for(lambda: self.cancelled or seq - self.window <= self.acked)
            if self.cancelled:
                return False
        self.send({"type": "scan_page", "scan": self.id, "seq": seq, "records": records})
        return True

    def run(self):
        page, size, seq, count, skipped, error = [], 0, 0, 0, 0, None
        dirs, dev = [ROOT], None
        while dirs:
            d = dirs.pop()
            try:
                entries = list(os.scandir(d))
                if dev is None:
                    dev = os.stat(d).st_dev  # the root's mount: nothing on another one
            except OSError as e:
                if d == ROOT:
                    error = "root %s: %s" % (ROOT, os.strerror(e.errno))
                else:
                    skipped += 1  # cannot be read
                continue
            for e in entries:
                try:
                    st = e.stat(follow_symlinks=False)
                    e.path.encode()  # a name that is not UTF-8 cannot be an id
                except FileNotFoundError:
                    continue  # gone since it was listed
                except UnicodeError:
                    skipped += 1
                    continue
                if stat.S_ISLNK(st.st_mode) or st.st_dev != dev:
                    skipped += 1  # never followed, never crossed
                elif stat.S_ISDIR(st.st_mode):
                    dirs.append(e.path)
                elif stat.S_ISREG(st.st_mode):
                    rec = {"id": e.path, "category": CATEGORY, "locator": {"path": e.path},
                           "events": {"modified": int(st.st_mtime)}}
                    n = len(json.dumps(rec)) + 1
                    if page and (len(page) == 1000 or size + n > 192 * 1024):
                        seq, count = seq + 1, count + len(page)
                        if not self.page(seq, page):
                            return
                        page, size = [], 0
                    page.append(rec)
                    size += n
        if page:
            seq, count = seq + 1, count + len(page)
            if not self.page(seq, page):
                return
        end = {"type": "scan_end", "scan": self.id, "complete": error is None,
               "count": count, "skipped": skipped, "future": 0}
        if error:
            end["error"] = error
        self.done = True
        self.send(end)


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
        offered = hello.get("protocols") or [hello.get("protocol")]
        proto = 2 if 2 in offered else 1 if 1 in offered else None
        ours = {"type": "hello", "protocol": proto or 2, "name": "python-backend",
                "actions": ["delete", "notice"] if NOTIFY_TO else ["delete"]}
        if ours["protocol"] == 2:
            ours["scan"] = True
        send(ours)
        if not proto:
            return
        scan = None
        for line in f:
            try:
                msg = json.loads(line)
                kind = msg.get("type")
                if kind == "job" and isinstance(msg.get("job"), str):
                    threading.Thread(target=run, args=(msg, send)).start()
                elif kind == "scan" and proto == 2 and scan and not (scan.done or scan.cancelled):
                    send({"type": "scan_end", "scan": msg["scan"], "complete": False,
                          "count": 0, "error": "a scan is already running"})
                elif kind == "scan" and proto == 2:
                    scan = Scan(msg, send)
                    threading.Thread(target=scan.run, daemon=True).start()
                elif kind == "scan_ack" and scan and msg["scan"] == scan.id:
                    scan.ack(msg["seq"])
                elif kind == "scan_cancel" and scan and msg["scan"] == scan.id:
                    scan.cancel()
                else:
                    print("ignoring a line of type %r" % kind, file=sys.stderr)
            except (ValueError, AttributeError, KeyError, TypeError):
                print("ignoring a line that is not a job", file=sys.stderr)
        if scan:
            scan.cancel()
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
