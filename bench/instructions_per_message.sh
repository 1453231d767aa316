#!/usr/bin/env bash
# Broker instructions per message for each plugin row, counted by valgrind's callgrind (every thread
# of the broker process): repeatable on a loaded machine or one without CPU counters, so two builds
# can be compared back to back. Usage: bench/instructions_per_message.sh BUILD_DIR [BUILD_DIR...]
# Env: COUNT (messages, default 4000), RATE (msgs/s, default 400), QOS (default 0),
# ROWS (default "bare validate alerts influx all"; also influx-nojournal: influx with plugin_opt_journal off;
# dynacl and dynsec: the access-control plugins on STATE, a dynamic-security.json whose client "bench"
# has password "bench-pass", e.g. the one `bench/run_bench --keep --rows dynsec` leaves in its scratch dir;
# dynacl-upgraded: dynacl with plugin_opt_password_iterations 102, and one login before the count, so its hash
# upgrade and the state save it causes (a change, like a $CONTROL one) have happened when counting starts;
# acl-allow-all: bench/acl_allow_all.so, which allows every login and access without looking, the floor of
# any access-control plugin; message-noop: the same plugin on MESSAGE only, passing every message untouched,
# the floor of any message plugin; hadiscovery: the warehouse rules with run_bench's options).
# ZONES (default nord,sud,est) and SENSORS (default 10): the warehouse topics, as loadgen's --zones/--sensors.
# WARMUP (messages per topic, default 0): sent at RATE before the counters are zeroed, in every row; in the
# hadiscovery row the count then waits until the plugin's configs_published metric is 2 per topic (the first
# config and the one with the learned expire_after) and unchanged, so only the steady per-message cost is counted.
# CACHE_SIM=1: callgrind simulates the caches too (--cache-sim=yes; no prefetcher) and two more columns give
# the data-cache misses per message, L1 (D1mr+D1mw) and last level (DLmr+DLmw); slower. The last level is
# CACHE_LL (size,ways,line; default 1048576,16,64: this machine's per-core L2, which a device's record must
# stay in to be cheap; valgrind's own guess here was a 256 MiB direct-mapped cache). KEEP_DUMPS=DIR: each row's callgrind dump is kept there (callgrind_annotate).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
count=${COUNT:-4000}
rate=${RATE:-400}
qos=${QOS:-0}
rows=${ROWS:-"bare validate alerts influx all"}
zones=${ZONES:-nord,sud,est}
sensors=${SENSORS:-10}
warmup=${WARMUP:-0}
cache_sim=${CACHE_SIM:-0}
cg_opts=()
[ "$cache_sim" = 1 ] && cg_opts=(--cache-sim=yes "--LL=${CACHE_LL:-1048576,16,64}")
topics=$(( $(tr ',' '\n' <<<"$zones" | wc -l) * sensors ))
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR [BUILD_DIR...]" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "$0: valgrind is needed" >&2; exit 1; }
vm=$(command -v victoria-metrics || echo /usr/bin/victoria-metrics)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 600); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

# plugin_block BUILD ROW SCRATCH VM_PORT: the mosquitto.conf lines of one plugin row.
plugin_block() {
    local build=$1 row=$2 scratch=$3 vm_port=$4
    case $row in
    validate) printf 'plugin %s\nplugin_opt_rules_file %s\n' "$build/plugins/validate/mosquitto_validate.so" \
        "$src/conf/validate/warehouse-rules.json" ;;
    alerts) printf 'plugin %s\nplugin_opt_rules_file %s\n' "$build/plugins/alerts/mosquitto_alerts.so" \
        "$src/conf/alerts/warehouse-alerts.json" ;;
    influx | influx-nojournal)
        sed "s#http://127.0.0.1:8086#http://127.0.0.1:$vm_port#" "$src/conf/influx/warehouse-rules.json" >"$scratch/influx-rules.json"
        printf 'plugin %s\nplugin_opt_rules_file %s\nplugin_opt_spool_dir %s\nplugin_opt_precision ms\n' \
            "$build/plugins/influx/mosquitto_influx.so" "$scratch/influx-rules.json" "$scratch/spool"
        [ "$row" = influx-nojournal ] && printf 'plugin_opt_journal off\n'
        return 0 ;;
    dynacl | dynsec | dynacl-upgraded)
        cp "${STATE:?dynacl/dynsec rows need STATE=<dynamic-security.json>}" "$scratch/state.json"
        local lib=$build/plugins/dynacl/mosquitto_dynacl.so
        [ "$row" = dynsec ] && lib=/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so
        printf 'plugin %s\nplugin_opt_config_file %s\n' "$lib" "$scratch/state.json"
        [ "$row" = dynacl-upgraded ] && printf 'plugin_opt_password_iterations 102\n'
        return 0 ;;
    acl-allow-all) printf 'plugin %s\n' "$build/bench/acl_allow_all.so" ;;
    message-noop) printf 'plugin %s\nplugin_opt_events message\n' "$build/bench/acl_allow_all.so" ;;
    hadiscovery) printf 'plugin %s\nplugin_opt_rules_file %s\nplugin_opt_state_file %s\nplugin_opt_max_new_devices 20000\nplugin_opt_new_device_window 1m\nplugin_opt_device_idle_timeout 168h\nplugin_opt_metrics_interval 1s\n' \
        "$build/plugins/hadiscovery/mosquitto_hadiscovery.so" "$src/conf/hadiscovery/warehouse-rules.json" "$scratch/hadiscovery.state" ;;
    esac
}

if [ "$cache_sim" = 1 ]; then
    printf '| build | row | broker instructions per message (all threads) | over bare | in the message callbacks | in the ACL checks | D1 misses per message | LL misses per message |\n|---|---|---|---|---|---|---|---|\n'
else
    printf '| build | row | broker instructions per message (all threads) | over bare | in the message callbacks | in the ACL checks |\n|---|---|---|---|---|---|\n'
fi
for build in "$@"; do
    build=$(cd "$build" && pwd)
    bare_ipm=""
    for row in $rows; do
        scratch=$(mktemp -d)
        port=$(free_port)
        vm_pid=""
        conf="$scratch/mosquitto.conf"
        anon=true
        [[ $row == dyn* || $row == acl-allow-all ]] && anon=false
        printf 'listener %s 127.0.0.1\nallow_anonymous %s\nlog_type error\nlog_type warning\nset_tcp_nodelay true\nmax_inflight_messages 0\nuser root\n' "$port" "$anon" >"$conf"
        parts=$row
        [ "$row" = all ] && parts="validate alerts influx"
        if [[ " $parts " == *" influx"* ]]; then
            vm_port=$(free_port)
            "$vm" -httpListenAddr "127.0.0.1:$vm_port" -storageDataPath "$scratch/vm" -retentionPeriod 100y \
                -loggerLevel ERROR >"$scratch/vm.log" 2>&1 &
            vm_pid=$!
            wait_port "$vm_port"
        fi
        for p in $parts; do [ "$p" = bare ] || plugin_block "$build" "$p" "$scratch" "${vm_port:-0}" >>"$conf"; done
        valgrind --tool=callgrind "${cg_opts[@]}" --callgrind-out-file="$scratch/cg.out" --dump-instr=no \
            /usr/sbin/mosquitto -c "$conf" >"$scratch/broker.log" 2>&1 &
        broker_pid=$!
        wait_port "$port" || { echo "broker did not start for $row: $(tail -5 "$scratch/broker.log")" >&2; exit 1; }
        # Counters zeroed once the broker is up and dumped before it stops, so start-up (rules, schema
        # compilation) and shutdown are not charged to the messages.
        sleep 1
        auth=()
        [[ $row == dyn* || $row == acl-allow-all ]] && auth=(--username bench --password bench-pass)
        had=false
        [[ " $parts " == *" hadiscovery "* ]] && had=true
        configs() { mosquitto_sub -p "$port" -t '$SYS/plugins/hadiscovery/hadiscovery/configs_published' \
            --retained-only -C 1 -W 2 2>/dev/null || true; }
        # wait_configs N: until configs_published >= N and unchanged for 3 polls (at most ~3 min).
        wait_configs() {
            local last="" same=0 got=""
            for _ in $(seq 60); do
                got=$(configs)
                if [ "${got:-0}" -ge "$1" ] && [ "$got" = "$last" ]; then
                    same=$((same + 1)); [ "$same" -ge 3 ] && break
                else
                    same=0
                fi
                last=$got
                sleep 1
            done
        }
        if [ "$warmup" -gt 0 ]; then
            # One message per topic first, at most 300/s, and (hadiscovery) the wait for every first config:
            # under valgrind the broker falls behind while it builds them (at QoS 1 loadgen then gives up on
            # the unacknowledged rest), and intervals learned from a backlog would not be the steady rate's
            # (expire_after "observed").
            "$build/bench/loadgen" --port "$port" --qos "$qos" --zones "$zones" --sensors "$sensors" \
                --count "$topics" --rate $((rate < 300 ? rate : 300)) --duration 0 --max-seconds 3600 --no-perf --quiet \
                "${auth[@]}" >"$scratch/warmup1.json"
            $had && wait_configs "$topics"
            "$build/bench/loadgen" --port "$port" --qos "$qos" --zones "$zones" --sensors "$sensors" \
                --count $(((warmup - 1) * topics)) --rate "$rate" --duration 0 --max-seconds 3600 --no-perf --quiet \
                "${auth[@]}" >"$scratch/warmup.json"
            $had && wait_configs $((2 * topics))
            $had && echo "$row: warm-up done, configs_published $(configs) for $topics topics" >&2
        fi
        if [ "$row" = dynacl-upgraded ]; then
            mosquitto_pub -p "$port" -u bench -P bench-pass -t bench/upgrade -m x
            sleep 3  # the upgrade's child process, then the writer's
            grep -q '"iterations":[[:space:]]*102' "$scratch/state.json" ||
                { echo "dynacl-upgraded: the hash upgrade was not saved" >&2; exit 1; }
            echo "dynacl-upgraded: broker threads after the upgrade: $(ls /proc/$broker_pid/task | wc -l)" >&2
        fi
        callgrind_control -z "$broker_pid" >/dev/null 2>&1
        "$build/bench/loadgen" --port "$port" --qos "$qos" --zones "$zones" --sensors "$sensors" --count "$count" --rate "$rate" --duration 0 --max-seconds 600 --no-perf --quiet "${auth[@]}" >"$scratch/loadgen.json"
        callgrind_control -d "$broker_pid" >/dev/null 2>&1
        if $had; then
            sleep 2
            echo "$row: configs_published $(configs) after the counted messages" >&2
        fi
        kill -TERM "$broker_pid"; wait "$broker_pid" || true
        [ -n "$vm_pid" ] && { kill "$vm_pid"; wait "$vm_pid" 2>/dev/null || true; }
        dump=$(ls "$scratch"/cg.out.* | head -1)
        total=$(grep -E '^(summary|totals):' "$dump" | tail -1 | awk '{print $2}')
        ipm=$((total / count))
        # The plugins' MESSAGE callbacks alone (inclusive): free of the wake-up and batching noise that
        # moves the whole-process figure by about 1 % between runs.
        in_cb=$(callgrind_annotate --inclusive=yes "$dump" 2>/dev/null | awk '/plugin__handle_message/ && !done {gsub(",", "", $1); print $1; done=1}')
        in_cb=$(( ${in_cb:-0} / count ))
        # The same for the broker's ACL checks (a publish and each delivery), plugins' callbacks included.
        in_acl=$(callgrind_annotate --inclusive=yes "$dump" 2>/dev/null | awk '/mosquitto_acl_check/ && !done {gsub(",", "", $1); print $1; done=1}')
        in_acl=$(( ${in_acl:-0} / count ))
        [ "$row" = bare ] && bare_ipm=$ipm
        over="-"
        [ -n "$bare_ipm" ] && [ "$row" != bare ] && over="+$((ipm - bare_ipm))"
        if [ "$cache_sim" = 1 ]; then
            # By event name (the events: line gives their order), from the summary line: the totals line
            # carries ~7-20 M more data reads than the summary, in odd places (a function called a few times
            # with one L1 miss per read), and the misses they add are not the messages'.
            misses=$(awk '/^events:/ {for (i = 2; i <= NF; i++) ev[i] = $i} /^summary:/ {for (i = 2; i <= NF; i++) v[ev[i]] = $i}
                END {printf "%.2f %.2f", (v["D1mr"] + v["D1mw"]) / c, (v["DLmr"] + v["DLmw"]) / c}' c="$count" "$dump")
            printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$build" "$row" "$ipm" "$over" "$in_cb" "$in_acl" ${misses}
        else
            printf '| %s | %s | %s | %s | %s | %s |\n' "$build" "$row" "$ipm" "$over" "$in_cb" "$in_acl"
        fi
        [ -n "${KEEP_DUMPS:-}" ] && cp "$dump" "$KEEP_DUMPS/$(tr / _ <<<"${build#/}")-$row.cg.out"
        rm -rf "$scratch"
    done
done
