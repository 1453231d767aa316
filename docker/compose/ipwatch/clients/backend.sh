#!/usr/bin/env bash
# IPWatch backend client (user ipwatch): prints the agents' responses and sends {"command":"status"} to
# each agent of AGENTS every COMMAND_INTERVAL seconds (0: once, then only listens).
set -u
broker=${BROKER:-broker}
port=${PORT:-1883}
user=${MQTT_USERNAME:-ipwatch}
password=${MQTT_PASSWORD:?MQTT_PASSWORD is required}
interval=${COMMAND_INTERVAL:-300}
read -r -a agents <<<"${AGENTS:-10.0.0.100 10.0.0.101}"
auth=(-h "$broker" -p "$port" -u "$user" -P "$password")

trap 'trap - TERM INT; kill 0; exit 0' TERM INT
echo "backend: agents ${agents[*]}, a status command every ${interval}s"
mosquitto_sub "${auth[@]}" -i "ipwatch-backend-sub" -q 1 -v -t 'ipwatch/device/+/response' &
sub=$!
sleep 1
round=0
while kill -0 "$sub" 2>/dev/null; do
  round=$((round + 1))
  for ip in "${agents[@]}"; do
    mosquitto_pub "${auth[@]}" -i "ipwatch-backend-$$" -q 1 -t "ipwatch/device/$ip/command" \
      -m "{\"command\":\"status\",\"id\":\"backend-$round\"}" || echo "backend: command to $ip failed" >&2
  done
  [ "$interval" -gt 0 ] || break
  sleep "$interval" &
  wait $!
done
wait "$sub"
echo "backend: the subscription ended; exiting" >&2
exit 1
