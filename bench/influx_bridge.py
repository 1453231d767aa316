#!/usr/bin/python3
# The seeds' approach, kept as a benchmark baseline for mosquitto_influx.so (docs/benchmarks.md):
# an external MQTT subscriber (python3-paho-mqtt) that writes warehouse readings to InfluxDB in batches.
"""Usage: /usr/bin/python3 bench/influx_bridge.py --mqtt-port 1883 --url http://127.0.0.1:8428 \
      [--v1 --db entrepot | --org ares --bucket entrepot --token dev-token] [--batch 5000] [--flush 0.2]

Subscribes to entrepot/+/+/v1 (QoS 1) and writes
  entrepot,sensor=<s>,zone=<z> alert_level=<i>i,hum=<f>,temp=<f>,version=<i>i <timestamp ms>
the same lines as conf/influx/warehouse-rules.json with plugin_opt_precision ms. Prints
{"subscribed": true} once the broker granted the subscription (bench/run_bench waits for it), and
the points written and the CPU seconds it used when it receives SIGTERM or SIGINT.
"""
import argparse
import json
import os
import resource
import signal
import sys
import threading
import time
import urllib.parse
import urllib.request

import paho.mqtt.client as mqtt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mqtt-port", type=int, default=1883)
    ap.add_argument("--url", required=True)
    ap.add_argument("--v1", action="store_true", help="InfluxDB 1.x /write instead of /api/v2/write")
    ap.add_argument("--db", default="entrepot")
    ap.add_argument("--org", default="ares")
    ap.add_argument("--bucket", default="entrepot")
    ap.add_argument("--token", default="dev-token")
    ap.add_argument("--batch", type=int, default=5000)
    ap.add_argument("--flush", type=float, default=0.2)
    args = ap.parse_args()

    if args.v1:
        url = args.url + "/write?" + urllib.parse.urlencode({"db": args.db, "precision": "ms"})
        headers = {}
    else:
        url = args.url + "/api/v2/write?" + urllib.parse.urlencode({"org": args.org, "bucket": args.bucket, "precision": "ms"})
        headers = {"Authorization": "Token " + args.token}

    lock = threading.Lock()
    pending = []
    written = [0]
    stop = threading.Event()

    def post(lines):
        body = ("\n".join(lines) + "\n").encode()
        req = urllib.request.Request(url, data=body, headers=headers, method="POST")
        while not stop.is_set():
            try:
                urllib.request.urlopen(req, timeout=10).read()
                written[0] += len(lines)
                return
            except Exception as e:  # the seeds retried forever, holding everything in memory
                print("write failed:", e, file=sys.stderr)
                time.sleep(1)

    def flusher():
        while not stop.wait(args.flush):
            with lock:
                lines = pending[:]
                pending.clear()
            if lines:
                post(lines)

    def on_message(client, userdata, msg):
        try:
            zone, sensor = msg.topic.split("/")[1:3]
            p = json.loads(msg.payload)
            ts = int(p["timestamp"])
            if ts < 100000000000:
                ts *= 1000
            line = "entrepot,sensor=%s,zone=%s alert_level=%di,hum=%r,temp=%r,version=%di %d" % (
                sensor, zone, int(p["alert_level"]), float(p["hum"]), float(p["temp"]), int(p["version"]), ts)
        except Exception:
            return
        with lock:
            pending.append(line)
            full = len(pending) >= args.batch
            lines = pending[:] if full else None
            if full:
                pending.clear()
        if lines:
            post(lines)

    client_id = "influx-bridge-%d" % os.getpid()
    if hasattr(mqtt, "CallbackAPIVersion"):  # paho-mqtt 2.x; Debian 12 ships 1.6
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION1, client_id=client_id)
    else:
        client = mqtt.Client(client_id=client_id)
    client.on_message = on_message
    client.on_connect = lambda c, u, f, rc: c.subscribe("entrepot/+/+/v1", qos=1)

    def on_subscribe(c, u, mid, granted_qos):
        print(json.dumps({"subscribed": True}), flush=True)

    client.on_subscribe = on_subscribe
    client.connect("127.0.0.1", args.mqtt_port)
    threading.Thread(target=flusher, daemon=True).start()

    def finish(*_):
        stop.set()
        client.disconnect()

    signal.signal(signal.SIGTERM, finish)
    signal.signal(signal.SIGINT, finish)
    client.loop_forever()
    with lock:
        rest = pending[:]
    stop.clear()
    if rest:
        post(rest)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"written": written[0], "cpu_s": usage.ru_utime + usage.ru_stime}), flush=True)


if __name__ == "__main__":
    main()
