#!/usr/bin/env bash
# Warehouse sensor simulator: every INTERVAL seconds, for each zone, a reading from sensors s1 and s2 on
# entrepot/<zone>/<sensor>/v1 and a retained heartbeat on entrepot/heartbeat/<zone>; every BAD_EVERY-th
# round (0: never) one invalid reading, which validate dead-letters to entrepot/deadletter/<zone>/<sensor>.
# A failed publish (broker restarting) is reported and the loop goes on.
set -u
broker=${BROKER:-broker}
port=${PORT:-1883}
interval=${INTERVAL:-30}
bad_every=${BAD_EVERY:-10}
read -r -a zones <<<"${ZONES:-nord sud est}"

publish() {  # publish <topic> <payload> [extra mosquitto_pub options]
  mosquitto_pub -h "$broker" -p "$port" -q 1 -i "simulator-$$" -t "$1" -m "$2" "${@:3}" ||
    echo "simulator: publish to $1 failed" >&2
}

# As PID 1 bash ignores SIGTERM unless trapped; sleep in the background so the trap runs at once.
trap 'exit 0' TERM INT
echo "simulator: zones ${zones[*]}, every ${interval}s, on $broker:$port"
round=0
while :; do
  round=$((round + 1))
  now_ms=$(date +%s%3N)
  for zone in "${zones[@]}"; do
    for sensor in s1 s2; do
      temp=$((180 + RANDOM % 90))
      hum=$((400 + RANDOM % 200))
      publish "entrepot/$zone/$sensor/v1" \
        "{\"timestamp\":$now_ms,\"temp\":$((temp / 10)).$((temp % 10)),\"hum\":$((hum / 10)).$((hum % 10)),\"alert_level\":0,\"version\":1}"
    done
    publish "entrepot/heartbeat/$zone" "{\"timestamp\":$now_ms,\"round\":$round}" -r
  done
  if [ "$bad_every" -gt 0 ] && [ $((round % bad_every)) -eq 0 ]; then
    zone=${zones[RANDOM % ${#zones[@]}]}
    publish "entrepot/$zone/s2/v1" "{\"timestamp\":$now_ms,\"temp\":\"hot\",\"hum\":144,\"alert_level\":0,\"version\":1}"
  fi
  sleep "$interval" &
  wait $!
done
