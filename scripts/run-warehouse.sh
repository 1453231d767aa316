#!/usr/bin/env bash
# Runs the broker in the foreground with the suite's plugins on the warehouse example:
# installs dependencies, builds, installs under /usr/local, then starts mosquitto on ${PORT:-1883}.
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
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "run-warehouse: port $port is already in use (a mosquitto service?); stop it or run with PORT=<free port>" >&2
  exit 1
fi

cat <<TXT
Broker starting on port $port with mosquitto_validate.so (warehouse rules). Try, in another shell:
  mosquitto_sub -p $port -v -t 'entrepot/#' &
  mosquitto_pub -p $port -t entrepot/nord/s1/v1 -m '{"timestamp":1732200000,"temp":23.1,"hum":44.0,"alert_level":0,"version":1}'
  mosquitto_pub -p $port -t entrepot/nord/s1/v1 -m '{"timestamp":1732200000,"temp":"hot","hum":144.0,"alert_level":0,"version":1}'
The valid reading is delivered unchanged; the invalid one is dropped and a dead letter with JSON
pointers (/temp, /hum) appears on entrepot/deadletter/nord/s1. Metrics: mosquitto_sub -p $port -v -t '\$SYS/plugins/#'
Ctrl-C stops the broker.
TXT
exec /usr/sbin/mosquitto -c "$conf"
