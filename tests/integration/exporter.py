#!/usr/bin/env python3
"""A tiny Prometheus exporter whose values a test changes while it runs.

  exporter.py PORTFILE [SERIES=VALUE ...]

Listens on a free 127.0.0.1 port (written to PORTFILE once listening) and
serves:
  GET  /metrics   every series set, text format 0.0.4
  POST /set       body: one "SERIES VALUE" per line; VALUE "absent" stops
                  exporting the series (the scrape no longer has it)
  GET  /-/healthy 200
SERIES is written as in the exposition format: name{label="value",...}.
"""
import http.server
import sys
import threading

series = {}
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def _send(self, code, body, ctype="text/plain; version=0.0.4; charset=utf-8"):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/metrics":
            with lock:
                body = "".join("%s %s\n" % (k, v) for k, v in sorted(series.items()))
            self._send(200, body)
        elif self.path == "/-/healthy":
            self._send(200, "ok\n")
        else:
            self._send(404, "not found\n")

    def do_POST(self):
        if self.path != "/set":
            self._send(404, "not found\n")
            return
        n = int(self.headers.get("Content-Length", "0"))
        text = self.rfile.read(n).decode()
        with lock:
            for line in text.splitlines():
                line = line.strip()
                if not line:
                    continue
                name, value = line.rsplit(" ", 1)
                if value == "absent":
                    series.pop(name, None)
                else:
                    series[name] = value
        self._send(200, "ok\n")


def main():
    for arg in sys.argv[2:]:
        k, v = arg.rsplit("=", 1)
        series[k] = v
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    srv.serve_forever()


if __name__ == "__main__":
    main()
