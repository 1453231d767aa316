#!/usr/bin/env bash
# IPWatch agent simulator for device AGENT_IP (also its username, as dynacl's agent role expects).
# One long connection publishes a status JSON on ipwatch/device/<ip>/status every INTERVAL seconds and
# holds the last will `offline` (retained) on ipwatch/device/<ip>/availability; `online` is published
# there retained once it is up. Another connection takes commands on ipwatch/device/<ip>/command and a
# third answers each on ipwatch/device/<ip>/response. Shutdown and reboot are only simulated. When any of
# them ends (broker restarting), the script exits and Docker's restart policy starts it again.
set -u
broker=${BROKER:-broker}
port=${PORT:-1883}
ip=${AGENT_IP:?AGENT_IP is required}
user=${MQTT_USERNAME:-$ip}
password=${MQTT_PASSWORD:?MQTT_PASSWORD is required}
interval=${INTERVAL:-30}
host_name=${AGENT_HOSTNAME:-agent-${ip//./-}}
base=ipwatch/device/$ip
auth=(-h "$broker" -p "$port" -u "$user" -P "$password")
started=$SECONDS

status_lines() {  # one status JSON a line, every interval
  while :; do
    printf '{"hostname":"%s","cpu_percent":%d.%d,"memory_percent":%d.%d,"disk_percent":%d,"uptime":%d}\n' \
      "$host_name" $((RANDOM % 60)) $((RANDOM % 10)) $((30 + RANDOM % 40)) $((RANDOM % 10)) \
      $((40 + RANDOM % 5)) $((SECONDS - started + 3600))
    sleep "$interval"
  done
}

answer() {  # answer <command JSON>: prints the response JSON
  local command id
  command=$(sed -n 's/.*"command"[[:space:]]*:[[:space:]]*"\([A-Za-z_-]*\)".*/\1/p' <<<"$1")
  id=$(sed -n 's/.*"id"[[:space:]]*:[[:space:]]*"\([A-Za-z0-9_.-]*\)".*/\1/p' <<<"$1")
  case "$command" in
    status)
      printf '{"command":"status","id":"%s","ok":true,"hostname":"%s","uptime":%d}\n' \
        "$id" "$host_name" $((SECONDS - started + 3600)) ;;
    shutdown | reboot)
      printf '{"command":"%s","id":"%s","ok":true,"simulated":true}\n' "$command" "$id" ;;
    *)
      printf '{"command":"%s","id":"%s","ok":false,"error":"unknown command"}\n' "$command" "$id" ;;
  esac
}

commands() {
  mosquitto_sub "${auth[@]}" -i "agent-$ip-cmd" -q 1 -t "$base/command" | while IFS= read -r line; do
    echo "agent $ip: command $line" >&2
    answer "$line"
  done | mosquitto_pub "${auth[@]}" -i "agent-$ip-resp" -q 1 -t "$base/response" -l
}

trap 'trap - TERM INT; kill 0; exit 0' TERM INT
echo "agent $ip ($host_name): status every ${interval}s on $broker:$port"
status_lines | mosquitto_pub "${auth[@]}" -i "agent-$ip" -q 1 -t "$base/status" -l \
  --will-topic "$base/availability" --will-payload offline --will-qos 1 --will-retain &
commands &
# Online once the connection holding the Will has had time to connect (a new Will replaces nothing).
sleep 1
mosquitto_pub "${auth[@]}" -i "agent-$ip-online" -q 1 -r -t "$base/availability" -m online ||
  echo "agent $ip: publishing online failed" >&2
wait -n
echo "agent $ip: a connection ended; exiting (the restart policy starts the agent again)" >&2
trap - TERM INT; kill 0 2>/dev/null
exit 1
