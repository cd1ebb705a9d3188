"""rawdocs.py — raw documents in the shape the listener writes (_id "<session>:<seq>", seq
shared by events and proc_events), for tests that make a session by hand instead of
recording one. Times are ms after the test's own origin (at(ms) gives the date). Since issue
33 the store holds them packed in segments: store them with segments.Raw(db).<stream>
.insert_many (unchained segments, like a --no-chain recording) or segments.insert_session
(chained, the session document's chain end included)."""


class RawSession:
    def __init__(self, sid, at, boot_ns, head=None, ev_defaults=None):
        """sid: the session ObjectId; at: ms -> datetime; boot_ns: ts_ns of t = 0;
        head: more fields on every document; ev_defaults: more fields on every event."""
        self.sid, self.at, self.boot_ns = sid, at, boot_ns
        self.extra = dict(head or {})
        self.ev_defaults = dict(ev_defaults or {})
        self.seq = 0

    def head(self, doc):
        self.seq += 1
        doc.update({"_id": "%s:%d" % (self.sid, self.seq), "session": self.sid,
                    **self.extra, "seq": self.seq})
        return doc

    def pe(self, t, what, **kw):
        return self.head({"ts": self.at(t), "ts_ns": self.boot_ns + t * 10**6, "what": what,
                          **kw})

    def fork(self, t, ptgid, child):
        return self.pe(t, "fork", parent_pid=ptgid, parent_tgid=ptgid, child_pid=child,
                       child_tgid=child, thread=False)

    def ex(self, t, pid, exe, argv, container=None):
        return self.pe(t, "exec", pid=pid, tgid=pid, exe=exe, argv=argv, container=container)

    def exit_(self, t, pid, ptgid, status=0):
        return self.pe(t, "exit", pid=pid, tgid=pid, exit_code=status, status=status,
                       signal=0, exit_signal=17, parent_pid=ptgid, parent_tgid=ptgid)

    def ev(self, t, pid, syscall, **kw):
        d = {"ts": self.at(t), "serial": 1000 + self.seq, "syscall": syscall,
             "success": True, "exit": 0, "pid": pid, "ppid": 0, "cwd": "/",
             **self.ev_defaults, "container": None}
        d.update(kw)
        return self.head(d)
