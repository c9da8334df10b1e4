"""Writes one Tile38 point every INTERVAL_MS through the sentinels with redis-py (Sentinel.master_for),
and prints one JSON line per write on stdout: {"ack": id, "sent": ms, "at": ms, "node": "host:port"}
or {"err": message, "sent": ms, "at": ms, "node": "host:port"}. Stops on SIGTERM/SIGINT.
Environment: SENTINELS (host:port,...), MASTER_NAME, TILE38_PASSWORD, SENTINEL_PASSWORD,
INTERVAL_MS (10), PREFIX (id prefix), KEY (collection, "fleet")."""
import json
import os
import signal
import sys
import time

from redis.sentinel import Sentinel

from tile38_sentinel import tile38_master


def now_ms():
    return int(time.time() * 1000)


def main():
    sentinels = [(e.rsplit(":", 1)[0], int(e.rsplit(":", 1)[1])) for e in os.environ["SENTINELS"].split(",")]
    interval = int(os.environ.get("INTERVAL_MS", "10")) / 1000.0
    prefix = os.environ.get("PREFIX", "py")
    key = os.environ.get("KEY", "fleet")
    client = tile38_master(sentinels, os.environ["MASTER_NAME"], os.environ["TILE38_PASSWORD"], os.environ.get("SENTINEL_PASSWORD") or None)
    running = [True]

    def stop(*_):
        running[0] = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    seq = 0
    out = sys.stdout
    while running[0]:
        seq += 1
        wid = f"{prefix}{seq}"
        sent = now_ms()
        lat = 33 + (seq % 1000) / 1000
        lon = -112 + (seq % 997) / 1000
        try:
            client.execute_command("SET", key, wid, "POINT", str(lat), str(lon))
            line = {"ack": wid, "sent": sent, "at": now_ms()}
        except Exception as e:  # every failure is a figure, never fatal
            line = {"err": f"{type(e).__name__}: {e}", "sent": sent, "at": now_ms()}
        pool = client.connection_pool
        addr = pool.master_address
        if addr:
            line["node"] = f"{addr[0]}:{addr[1]}"
        out.write(json.dumps(line) + "\n")
        out.flush()
        wait = sent / 1000.0 + interval - time.time()
        if wait > 0:
            time.sleep(wait)


if __name__ == "__main__":
    main()
