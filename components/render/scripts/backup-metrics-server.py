# tile38-ha: serves the backup agent's metrics file at /metrics (Prometheus text format 0.0.4).
# The agent runs it as `python3 -c SOURCE BIND PORT FILE` (or python 2.7: Amazon Linux 2, the
# base of the AWS CLI image, has only that); the agent rewrites FILE whole (rename) after every
# look at its node and every round, so a scrape never reads half a file.
import sys

try:
    from http.server import BaseHTTPRequestHandler, HTTPServer
except ImportError:  # Python 2.7
    from BaseHTTPServer import BaseHTTPRequestHandler, HTTPServer

BIND, PORT, METRICS_FILE = sys.argv[1], int(sys.argv[2]), sys.argv[3]


class MetricsHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.split("?")[0] != "/metrics":
            self.send_error(404, "only /metrics")
            return
        try:
            with open(METRICS_FILE, "rb") as f:
                body = f.read()
        except (IOError, OSError):
            self.send_error(503, "no metrics written yet")
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass  # one line per scrape would drown the agent's own log


HTTPServer((BIND, PORT), MetricsHandler).serve_forever()
