#!/usr/bin/env bash
# Builds the Docker image and runs it, alone and in the warehouse and IPWatch compose stacks, with a
# private dockerd (root): publishes and subscribes from the host, queries VictoriaMetrics, reads the
# retained Home Assistant discovery configs, then stops dockerd by its PID.
# Logs in build-docker/. DOCKER_TEST_DATA_ROOT=<dir> keeps dockerd's images there between runs (warm).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
[ "$(id -u)" -eq 0 ] || { echo "docker-test: run as root (it starts its own dockerd)" >&2; exit 1; }
logs=$repo/build-docker
mkdir -p "$logs"
image=mosquitto-plugin-suite
stack=$repo/docker/compose/warehouse
ipwatch=$repo/docker/compose/ipwatch

# Per-stage wall time, printed as each stage ends and again at the end.
timings=()
stage_name="" stage_start=$SECONDS
stage() {
  if [ -n "$stage_name" ]; then
    timings+=("$(printf '%-40s %4d s' "$stage_name" $((SECONDS - stage_start)))")
    echo "docker-test: $stage_name: $((SECONDS - stage_start)) s"
  fi
  stage_name=$1 stage_start=$SECONDS
  [ -n "$1" ] && echo "docker-test: == $1"
  return 0
}
fail() {
  echo "docker-test: FAIL: $*" >&2
  exit 1
}

stage "drift check of the stack's rules"
# The stack carries its own copies of the sample rules (users copy the folder); only the server differs.
diff -r "$repo/conf/validate" "$stack/config/validate" >/dev/null || fail "$stack/config/validate differs from conf/validate"
cmp -s "$repo/conf/alerts/warehouse-alerts.json" "$stack/config/alerts/warehouse-alerts.json" ||
  fail "$stack/config/alerts/warehouse-alerts.json differs from conf/alerts/"
diff <(sed 's#"url": "http://127.0.0.1:8086"#"url": "http://influxdb:8086"#' "$repo/conf/influx/warehouse-rules.json") \
  "$stack/config/influx/warehouse-rules.json" >/dev/null || fail "$stack/config/influx/warehouse-rules.json differs from conf/influx/ (beyond its url)"
cmp -s "$repo/conf/hadiscovery/ipwatch-rules.json" "$ipwatch/config/hadiscovery/ipwatch-rules.json" ||
  fail "$ipwatch/config/hadiscovery/ipwatch-rules.json differs from conf/hadiscovery/"

stage "install docker.io and docker-compose"
need=()
for p in docker.io docker-compose mosquitto-clients curl debootstrap jq; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "docker-test: installing ${need[*]}"
  # As in install-deps.sh: keep the maintainer scripts from starting the packaged dockerd.
  policy_rc_created=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && policy_rc_created=1
  fi
  { apt-get -o DPkg::Lock::Timeout=600 update -q &&
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${need[@]}"
  } >"$logs/apt.log" 2>&1 || { tail -20 "$logs/apt.log" >&2; fail "apt-get install ${need[*]}"; }
  [ "$policy_rc_created" -eq 0 ] || rm -f /usr/sbin/policy-rc.d
fi
# Debian's clients, whatever else is on PATH (the daemon is 20.10: an older API than a newer CLI's).
docker() { /usr/bin/docker "$@"; }
# The stack in use: $stack, under the project name $COMPOSE_PROJECT_NAME (both switched per stack).
compose() { (cd "$stack" && nice /usr/bin/docker-compose -f compose.yaml -f compose.test.yaml "$@"); }

stage "drift check of the IPWatch dynacl state"
# The stack's state adds passwords, an admin, Home Assistant and the health check to conf/dynacl's
# example; the agents' and backend's roles, the group and those clients must stay the example's.
ipwatch_view() {
  jq -S '{roles: [.roles[] | select(.rolename == "ipwatch-agent" or .rolename == "ipwatch-backend")],
          groups: .groups,
          clients: [.clients[] | select(.username == "ipwatch" or (.username | startswith("10.0.0.")))
                    | del(.password, .salt, .iterations)]}' "$1"
}
diff <(ipwatch_view "$repo/conf/dynacl/ipwatch-dynamic-security.json") \
  <(ipwatch_view "$ipwatch/config/dynacl/dynamic-security.json") >&2 ||
  fail "$ipwatch/config/dynacl/dynamic-security.json: the IPWatch roles, group or clients differ from conf/dynacl/"

cache=/var/cache/mqs-compat
mkdir -p "$cache"
# shellcheck source=scripts/lib/debian-root.sh
source scripts/lib/debian-root.sh

tmp=$(mktemp -d /tmp/mqs-docker.XXXXXX)
data_root=${DOCKER_TEST_DATA_ROOT:-$tmp/data}
dockerd_pid=""
single=mqs-test-broker-$$
export DOCKER_HOST=unix://$tmp/docker.sock
export COMPOSE_PROJECT_NAME=mqs-warehouse-test-$$
compose_up=0

cleanup() {
  local rc=$?
  set +e
  trap - EXIT
  if [ -n "$dockerd_pid" ]; then
    stage "stop the containers and dockerd"
    [ "$rc" -eq 0 ] || { docker ps -a; docker logs "$single" 2>&1 | tail -30; } >"$logs/failure.log" 2>&1
    docker rm -f "$single" >/dev/null 2>&1
    if [ "$compose_up" -eq 1 ]; then
      [ "$rc" -eq 0 ] || compose logs --no-color >>"$logs/failure.log" 2>&1
      compose down -v >>"$logs/compose.log" 2>&1
    fi
    kill "$dockerd_pid" 2>/dev/null
    for _ in $(seq 60); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$dockerd_pid" 2>/dev/null
    wait "$dockerd_pid" 2>/dev/null
  fi
  # Whatever dockerd left mounted under the temp dir, then the dir itself.
  grep -o " $tmp/[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf "$tmp"
  unmount_all
  stage ""
  printf 'docker-test: %s\n' "${timings[@]}"
  [ "$rc" -eq 0 ] && echo "docker-test: PASS" || echo "docker-test: FAILED (logs in $logs/)" >&2
  exit "$rc"
}
trap cleanup EXIT

free_port() {  # a TCP port nothing listens on, below the ephemeral range (a client may hold one there)
  local p
  while :; do
    p=$((20000 + RANDOM % 12000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}
wait_for() {  # wait_for <seconds> <what> <command...>: polls the command every 0.5 s
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || fail "timed out after ${deadline}s waiting for $what"
    sleep 0.5
  done
}
health_of() { docker inspect -f '{{.State.Health.Status}}' "$1" 2>/dev/null; }
is_healthy() { [ "$(health_of "$1")" = healthy ]; }

stage "start dockerd"
dockerd --data-root "$data_root" --exec-root "$tmp/exec" --pidfile "$tmp/dockerd.pid" -H "$DOCKER_HOST" \
  >"$logs/dockerd.log" 2>&1 &
dockerd_pid=$!
dockerd_up() {
  kill -0 "$dockerd_pid" 2>/dev/null || fail "dockerd exited (log: $logs/dockerd.log)"
  docker version >/dev/null 2>&1
}
wait_for 60 "dockerd" dockerd_up

stage "debian:12-slim base image"
if ! docker image inspect debian:12-slim >/dev/null 2>&1; then
  mirror=$(mirror_for bookworm) || fail "no apt source of this machine serves bookworm"
  make_base bookworm "$mirror"
  cp -a "$cache/bookworm.base" "$tmp/rootfs"
  point_apt_at "$tmp/rootfs" "$mirror" bookworm
  rm -f "$tmp/rootfs"/var/cache/apt/archives/*.deb
  tar -C "$tmp/rootfs" -c . | docker import -c 'CMD ["bash"]' - debian:12-slim >/dev/null
  rm -rf "$tmp/rootfs"
fi

stage "build the image"
nice /usr/bin/docker build -f docker/Dockerfile -t "$image" . >"$logs/build.log" 2>&1 ||
  { tail -30 "$logs/build.log" >&2; fail "docker build (log: $logs/build.log)"; }

stage "run the image alone"
port=$(free_port)
ws_port=$(free_port)
docker run -d --name "$single" -p "127.0.0.1:$port:1883" -p "127.0.0.1:$ws_port:9001" "$image" >/dev/null
wait_for 90 "the container's health check" is_healthy "$single"
uid_line=$(docker exec "$single" grep '^Uid:' /proc/1/status)
[[ "$uid_line" =~ ^Uid:[[:space:]]+1883[[:space:]]+1883 ]] || fail "broker runs as '$uid_line', not uid 1883"
gid_line=$(docker exec "$single" grep '^Gid:' /proc/1/status)
[[ "$gid_line" =~ ^Gid:[[:space:]]+1883[[:space:]]+1883 ]] || fail "broker runs as '$gid_line', not gid 1883"

# Subscribe from the host; a probe published until it comes back proves the subscription is active.
sub_log=$tmp/single-sub.log
mosquitto_sub -h 127.0.0.1 -p "$port" -v -q 1 -t 'entrepot/#' -t 'probe/#' >"$sub_log" 2>&1 &
sub_pid=$!
probe() { mosquitto_pub -h 127.0.0.1 -p "$port" -t probe/single -m up && grep -q '^probe/single up' "$sub_log"; }
wait_for 20 "the host's subscription" probe
mosquitto_pub -h 127.0.0.1 -p "$port" -q 1 -t entrepot/nord/s1/v1 \
  -m '{"timestamp":1732200000,"temp":23.1,"hum":44.0,"alert_level":0,"version":1}'
mosquitto_pub -h 127.0.0.1 -p "$port" -q 1 -t entrepot/nord/s1/v1 \
  -m '{"timestamp":1732200001,"temp":"hot","hum":144.0,"alert_level":0,"version":1}'
mosquitto_pub -h 127.0.0.1 -p "$port" -q 1 -t entrepot/nord/s1/v1 \
  -m '{"timestamp":1732200002,"temp":24.0,"hum":45.0,"alert_level":2,"version":1}'
got() { grep -q "$1" "$sub_log"; }
wait_for 20 "the valid reading" got '^entrepot/nord/s1/v1 {"timestamp":1732200000,'
wait_for 20 "the dead letter" got '^entrepot/deadletter/nord/s1 .*/temp'
wait_for 20 "the alert" got '^entrepot/alerts/nord/s1 .*critical'
kill "$sub_pid"
wait "$sub_pid" 2>/dev/null || true
! grep -q '^entrepot/nord/s1/v1 .*"hot"' "$sub_log" || fail "the invalid reading was delivered"
# The default config's websockets listener answers an MQTT-over-websockets upgrade.
# (curl then waits on the open connection until -m ends it.)
ws_reply=$(curl -s -i -m 2 -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
  -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' -H 'Sec-WebSocket-Protocol: mqtt' "http://127.0.0.1:$ws_port/" || true)
[[ "$ws_reply" == "HTTP/1.1 101 "* ]] || fail "no websockets listener on 9001: '${ws_reply:0:80}'"
docker rm -f "$single" >/dev/null
# The README's way to copy the default config out of the image.
# (Listed whole first: grep -q stopping early would fail the pipeline with SIGPIPE.)
listing=$(docker run --rm "$image" tar -C /mosquitto/config -c . | tar -t) || fail "the default config cannot be copied out with tar"
grep -q '^./validate/schemas/common.schema.json$' <<<"$listing" || fail "the default config's copy lacks the rules: $listing"

stage "compose up (warehouse + test override)"
mqtt_port=$(free_port)
influx_port=$(free_port)
# Published on loopback only (compose.yaml takes HOST_IP:HOST_PORT in these).
export MQTT_PORT=127.0.0.1:$mqtt_port INFLUX_PORT=127.0.0.1:$influx_port
compose_up=1
compose up -d --build >"$logs/compose.log" 2>&1 ||
  { tail -30 "$logs/compose.log" >&2; fail "docker-compose up (log: $logs/compose.log)"; }
broker_id=$(compose ps -q broker)
wait_for 90 "the stack's broker health check" is_healthy "$broker_id"

stage "check the warehouse stack"
# Heartbeats of the three zones, retained.
hb=$(mosquitto_sub -h 127.0.0.1 -p "$mqtt_port" -v -t 'entrepot/heartbeat/+' -C 3 -W 30) ||
  fail "no retained heartbeats from the simulator"
for zone in nord sud est; do
  grep -q "^entrepot/heartbeat/$zone " <<<"$hb" || fail "no heartbeat from zone $zone: $hb"
done
# The simulator's invalid readings are dead-lettered (one every 3 rounds of 2 s in compose.test.yaml).
mosquitto_sub -h 127.0.0.1 -p "$mqtt_port" -v -t 'entrepot/deadletter/#' -C 1 -W 30 | grep -q '/temp' ||
  fail "no dead letter from the simulator's invalid readings"
# An alert from a host-published reading, read back as a retained message.
mosquitto_pub -h 127.0.0.1 -p "$mqtt_port" -q 1 -t entrepot/est/host1/v1 \
  -m '{"timestamp":1732200000000,"temp":22.5,"hum":41.0,"alert_level":2,"version":1}'
retained_alert() {
  mosquitto_sub -h 127.0.0.1 -p "$mqtt_port" -t entrepot/alerts/est/host1 -C 1 -W 2 2>/dev/null | grep -q critical
}
wait_for 20 "the retained alert on entrepot/alerts/est/host1" retained_alert
# Points in VictoriaMetrics: the simulator's for every zone, the heartbeats, and the host's reading
# (fixed timestamp: the 100y retention keeps it).
export_series() {
  curl -fsS -m 5 "http://127.0.0.1:$influx_port/api/v1/export" -d "match[]={__name__=~\"$1\"}" 2>/dev/null
}
points_of() {  # points_of <metric regex> <label regex>: at least one exported series matches both
  local series
  series=$(export_series "$1") && grep -q "$2" <<<"$series"
}
for zone in nord sud est; do
  wait_for 60 "points of zone $zone in VictoriaMetrics" points_of 'entrepot_temp' "\"zone\":\"$zone\""
  wait_for 60 "heartbeats of zone $zone in VictoriaMetrics" points_of 'entrepot_heartbeat.*' "\"zone\":\"$zone\""
done
wait_for 60 "the host's reading in VictoriaMetrics" points_of 'entrepot_alert_level' '"sensor":"host1".*1732200000000'

stage "compose down -v (warehouse)"
compose down -v >>"$logs/compose.log" 2>&1
compose_up=0

stage "compose up (IPWatch + test override)"
stack=$ipwatch
export COMPOSE_PROJECT_NAME=mqs-ipwatch-test-$$
mqtt_port=$(free_port)
export MQTT_PORT=127.0.0.1:$mqtt_port
compose_up=1
# The broker image is the one built above (every layer cached); the clients' image shares the
# warehouse simulator's apt layer.
compose up -d --build >"$logs/compose-ipwatch.log" 2>&1 ||
  { tail -30 "$logs/compose-ipwatch.log" >&2; fail "docker-compose up, IPWatch (log: $logs/compose-ipwatch.log)"; }
broker_id=$(compose ps -q broker)
wait_for 90 "the IPWatch broker's health check" is_healthy "$broker_id"

stage "check the IPWatch stack"
# The stack's example credentials (compose.yaml, config/dynacl/dynamic-security.json).
as_ha=(-h 127.0.0.1 -p "$mqtt_port" -u homeassistant -P homeassistant-password)
as_backend=(-h 127.0.0.1 -p "$mqtt_port" -u ipwatch -P ipwatch-password)
as_agent100=(-h 127.0.0.1 -p "$mqtt_port" -u 10.0.0.100 -P agent-100-password)
# Without credentials the broker refuses the login.
! mosquitto_pub -h 127.0.0.1 -p "$mqtt_port" -t ipwatch/x -m x 2>/dev/null || fail "an anonymous client may log in"
! mosquitto_pub -h 127.0.0.1 -p "$mqtt_port" -u ipwatch -P wrong -t ipwatch/x -m x 2>/dev/null ||
  fail "user ipwatch logs in with a wrong password"

# A retained device discovery config per agent, as Home Assistant reads it.
discovery() {  # discovery <ip>: the retained config of that agent's device, empty if none yet
  mosquitto_sub "${as_ha[@]}" -t "homeassistant/device/ipwatch_${1//./_}/config" -C 1 -W 2 2>/dev/null
}
for ip in 10.0.0.100 10.0.0.101; do
  config=""
  has_config() { config=$(discovery "$ip") && [ -n "$config" ]; }
  wait_for 60 "the discovery config of agent $ip" has_config
  jq -e --arg ip "$ip" --arg host "agent-${ip//./-}" '
      (.dev.ids // .device.identifiers | tostring | contains("ipwatch_" + ($ip | gsub("\\."; "_"))))
      and ((.dev.name // .device.name) == $host or (.dev.name // .device.name) == "IPWatch " + $ip)
      and ((.cmps // .components) as $c
           | ([$c[] | select((.p // .platform) == "sensor") | (.val_tpl // .value_template) | tostring] | join(" ")) as $t
           | ($t | contains("cpu_percent")) and ($t | contains("memory_percent"))
             and ($t | contains("disk_percent")) and ($t | contains("uptime"))
             and ([$c[] | select((.p // .platform) == "button")] | length) == 2)' <<<"$config" >/dev/null ||
    fail "the discovery config of agent $ip lacks its device, the four sensors or the two buttons: $config"
done

# A backend status command is answered on the agent's response topic.
resp_log=$tmp/ipwatch-responses.log
mosquitto_sub "${as_ha[@]}" -v -q 1 -t 'ipwatch/device/#' >"$resp_log" 2>&1 &
sub_pid=$!
marker=host-$$
probe_ipwatch() {
  mosquitto_pub "${as_backend[@]}" -q 1 -t ipwatch/device/10.0.0.100/command -m "{\"command\":\"status\",\"id\":\"$marker\"}" &&
    grep -q "^ipwatch/device/10.0.0.100/response .*\"id\":\"$marker\".*\"ok\":true" "$resp_log"
}
wait_for 30 "the answer to the backend's status command" probe_ipwatch
# The backend service's own commands (every 5 s in compose.test.yaml) reach both agents.
for ip in 10.0.0.100 10.0.0.101; do
  wait_for 30 "an answer of agent $ip to the backend service" grep -q "^ipwatch/device/$ip/response .*\"id\":\"backend-" "$resp_log"
done

# dynacl: the backend may not publish an agent's status, an agent not another agent's topics. Each
# forgery (QoS 1, acknowledged) is followed by an allowed message from the same client: once that one
# is delivered, a forgery that got through would have been delivered before it.
mosquitto_pub "${as_backend[@]}" -q 1 -t ipwatch/device/10.0.0.100/status -m '{"hostname":"forged-by-backend"}' || true
mosquitto_pub "${as_backend[@]}" -q 1 -t ipwatch/device/10.0.0.100/command -m '{"command":"status","id":"after-forgery-1"}'
mosquitto_pub "${as_agent100[@]}" -i host-as-agent100 -q 1 -t ipwatch/device/10.0.0.101/status -m '{"hostname":"forged-by-100"}' || true
mosquitto_pub "${as_agent100[@]}" -i host-as-agent100 -q 1 -t ipwatch/device/10.0.0.101/response -m '{"forged-by-100":1}' || true
mosquitto_pub "${as_agent100[@]}" -i host-as-agent100 -q 1 -t ipwatch/device/10.0.0.100/response -m '{"id":"after-forgery-2"}'
wait_for 20 "the allowed messages after the forgeries" grep -q '"id":"after-forgery-2"' "$resp_log"
grep -q '"id":"after-forgery-1"' "$resp_log" || fail "the backend's allowed command was not delivered"
! grep -q 'forged-by' "$resp_log" || fail "dynacl let a forged message through: $(grep 'forged-by' "$resp_log")"
kill "$sub_pid"
wait "$sub_pid" 2>/dev/null || true

# dynacl's state is writable and survives a restart: a client created through $CONTROL still logs in.
mosquitto_ctrl -h 127.0.0.1 -p "$mqtt_port" -u admin -P admin-password dynsec createClient restart-probe -p probe-password \
  >/dev/null || fail "mosquitto_ctrl createClient as admin"
mosquitto_pub -h 127.0.0.1 -p "$mqtt_port" -u restart-probe -P probe-password -t probe -m x ||
  fail "the client created with mosquitto_ctrl cannot log in"
compose restart broker >>"$logs/compose-ipwatch.log" 2>&1 || fail "docker-compose restart broker"
wait_for 90 "the IPWatch broker's health check after its restart" is_healthy "$broker_id"
logs_in() { mosquitto_pub -h 127.0.0.1 -p "$mqtt_port" -u restart-probe -P probe-password -t probe -m x 2>/dev/null; }
wait_for 20 "the client created before the restart to log in" logs_in

# Killing an agent leaves its Will, `offline`, retained on its availability topic.
availability() {
  [ "$(mosquitto_sub "${as_ha[@]}" -t ipwatch/device/10.0.0.101/availability -C 1 -W 2 2>/dev/null)" = "$1" ]
}
wait_for 60 "agent 10.0.0.101 online (again, after the broker's restart)" availability online
docker kill "$(compose ps -q agent-101)" >/dev/null
wait_for 20 "agent 10.0.0.101's retained availability offline" availability offline

stage "compose down -v (IPWatch)"
compose down -v >>"$logs/compose-ipwatch.log" 2>&1
compose_up=0
stage ""
