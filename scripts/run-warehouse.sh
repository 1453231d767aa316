#!/usr/bin/env bash
# Runs the broker in the foreground with the suite's plugins on the warehouse example:
# installs dependencies, builds, installs under /usr/local, starts a local time-series store on
# 127.0.0.1:8086 for the InfluxDB forwarder, then mosquitto on ${PORT:-1883}.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${PORT:-1883}

bash scripts/install-deps.sh
BUILD_DIR=build-run bash scripts/build.sh -DWITH_TESTS=OFF -DWITH_BENCH=OFF
cmake --install build-run --prefix /usr/local >/dev/null

conf=/usr/local/etc/mosquitto/plugin-suite/mosquitto-warehouse.conf
if [ "$port" != 1883 ]; then
  runtime_conf=$(mktemp /tmp/mosquitto-warehouse.XXXXXX.conf)
  sed "s/^listener 1883/listener $port/" "$conf" > "$runtime_conf"
  conf=$runtime_conf
fi
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if port_busy "$port"; then
  echo "run-warehouse: port $port is already in use (a mosquitto service?); stop it or run with PORT=<free port>" >&2
  exit 1
fi

# InfluxDB 2.7 is not packaged for Debian 12: VictoriaMetrics accepts the same /api/v2/write
# line protocol, so it stands in unless something already listens on 8086.
tsdb_pid=""
if ! port_busy 8086; then
  mkdir -p /var/lib/plugin-suite-tsdb
  victoria-metrics -httpListenAddr 127.0.0.1:8086 -storageDataPath /var/lib/plugin-suite-tsdb \
    -retentionPeriod 100y -loggerLevel ERROR &
  tsdb_pid=$!
  trap '[ -n "$tsdb_pid" ] && kill "$tsdb_pid" 2>/dev/null' EXIT
fi

cat <<TXT
Broker starting on port $port with validate, alerts and influx on the warehouse example. Try, in another shell:
  mosquitto_sub -p $port -v -t 'entrepot/#' &
  mosquitto_pub -p $port -t entrepot/nord/s1/v1 -m '{"timestamp":1732200000,"temp":23.1,"hum":44.0,"alert_level":0,"version":1}'
  mosquitto_pub -p $port -t entrepot/nord/s1/v1 -m '{"timestamp":1732200001,"temp":"hot","hum":144.0,"alert_level":0,"version":1}'
  mosquitto_pub -p $port -t entrepot/nord/s1/v1 -m '{"timestamp":1732200002,"temp":24.0,"hum":45.0,"alert_level":2,"version":1}'
The valid reading is delivered unchanged; the invalid one is dropped and a dead letter with JSON
pointers (/temp, /hum) appears on entrepot/deadletter/nord/s1; alert_level 2 raises a retained alert
on entrepot/alerts/nord/s1. Forwarded points:
  curl -s 'http://127.0.0.1:8086/api/v1/export' -d 'match[]={__name__=~"entrepot.*"}'
Metrics: mosquitto_sub -p $port -v -t '\$SYS/plugins/#'     Ctrl-C stops the broker.
TXT
/usr/sbin/mosquitto -c "$conf"
