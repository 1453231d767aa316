#!/usr/bin/python3
"""What retained messages cost a bare mosquitto in RSS: the share of the hadiscovery row's memory per
device that is the broker's retained store, not the plugin (docs/benchmarks.md, Home Assistant discovery).

Starts /usr/sbin/mosquitto on a free loopback port with run_bench's common lines, publishes --count
retained messages of --payload-bytes each on homeassistant/device/entrepot_sensor_<zone>_sensor<NN>/config
(the hadiscovery row's topics, 4 zones), waits until the broker holds them all, and prints one JSON line
with VmRSS before and after and the difference per message. Needs python3-paho-mqtt.
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

import paho.mqtt.client as mqtt


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--payload-bytes", type=int, default=1381)
    ap.add_argument("--mosquitto", default="/usr/sbin/mosquitto")
    args = ap.parse_args()

    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        conf = os.path.join(tmp, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write(f"listener {port} 127.0.0.1\nallow_anonymous true\nlog_type error\nlog_type warning\n"
                    "set_tcp_nodelay true\nmax_inflight_messages 0\n")
        broker = subprocess.Popen([args.mosquitto, "-c", conf], stderr=subprocess.DEVNULL)
        try:
            client = mqtt.Client(client_id="retained-memory")
            for _ in range(100):
                try:
                    client.connect("127.0.0.1", port)
                    break
                except OSError:
                    time.sleep(0.05)
            client.loop_start()
            time.sleep(0.5)
            before = rss_kb(broker.pid)
            zones = ["nord", "sud", "est", "ouest"]
            per_zone = (args.count + len(zones) - 1) // len(zones)
            infos = []
            for i in range(args.count):
                zone = zones[i // per_zone]
                topic = f"homeassistant/device/entrepot_sensor_{zone}_sensor{i % per_zone + 1:02d}/config"
                # Distinct payloads, as the real configs are (the broker does not share equal payloads).
                head = json.dumps({"dev": {"ids": [topic]}})
                payload = (head + " " * args.payload_bytes)[: args.payload_bytes]
                infos.append(client.publish(topic, payload, qos=1, retain=True))
            for info in infos:
                info.wait_for_publish()
            client.disconnect()
            client.loop_stop()
            time.sleep(1.0)
            after = rss_kb(broker.pid)
        finally:
            broker.terminate()
            broker.wait()
    print(json.dumps({"messages": args.count, "payload_bytes": args.payload_bytes, "rss_before_kb": before,
                      "rss_after_kb": after,
                      "bytes_per_message": round((after - before) * 1024 / args.count)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
