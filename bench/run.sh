#!/usr/bin/env bash
# bench/run.sh — whole-proxy load benchmark: Turnout against nginx, HAProxy
# and Caddy doing the same canary routing, plus a direct baseline.
#
#   bench/run.sh            # full run: 3 interleaved rounds of 10 s per target (a few minutes)
#   bench/run.sh --quick    # sanity run: 1 round of 2 s
#   bench/run.sh --only reload   # only the reload step (or --only rss): no proxy rounds
#   bench/run.sh --h2 [--quick]  # the HTTP/2, gRPC and TLS benchmark instead (bench/h2.sh)
#
# Environment (defaults in brackets):
#   DURATION [10s]  CONNS [64]  THREADS [1]  ROUNDS [3]  WARMUP [2s, 0 = none]
#   TARGETS ["direct nginx haproxy caddy turnout"]; turnout-nethttp is Turnout with
#                           TURNOUT_HTTP_SERVER=net/http (net/http's server on the data plane)
#   CHECK_N [2000]          requests per routing check (plain and X-Canary each)
#   LOADGEN_CPU [0]  PROXY_CPU [1]  WORKERS [2]
#   EXTRA [1]               0 skips the RSS (1,000 services) and reload (10,000 services) steps
#   RSS_SERVICES [1000]  RELOAD_SERVICES [10000]  RELOAD_DURATION [10s]
#   TURNOUT_BIN             use this turnout binary instead of building ./cmd/turnout
#   STRICT [0]              1: exit 1 when a Turnout target FAILs
#   KEEP [0]                1: keep the temp dir (configs, logs, raw results)
#
# See bench/README.md for what is measured and how.
set -euo pipefail

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

QUICK=0
ONLY=""
while (($# > 0)); do
	case "$1" in
	--quick) QUICK=1 ;;
	--h2) shift; exec "$(dirname "$0")/h2.sh" "$@" ;;
	--only) ONLY=${2:-}; shift ;;
	--only=*) ONLY=${1#--only=} ;;
	-h | --help) usage; exit 0 ;;
	*) echo "run.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
case "$ONLY" in
"" | reload | rss) ;;
*) echo "run.sh: --only takes reload or rss, not '$ONLY'" >&2; usage >&2; exit 2 ;;
esac
if [[ $QUICK == 1 ]]; then
	DURATION=${DURATION:-2s}
	ROUNDS=${ROUNDS:-1}
	WARMUP=${WARMUP:-1s}
	RELOAD_DURATION=${RELOAD_DURATION:-6s}
fi
DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-1}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-2s}
TARGETS=${TARGETS:-direct nginx haproxy caddy turnout}
if [[ -n $ONLY ]]; then
	TARGETS="" # --only: none of the interleaved rounds, only that step
	EXTRA=1
fi
CHECK_N=${CHECK_N:-2000}
LOADGEN_CPU=${LOADGEN_CPU:-0}
PROXY_CPU=${PROXY_CPU:-1}
WORKERS=${WORKERS:-2}
EXTRA=${EXTRA:-1}
RSS_SERVICES=${RSS_SERVICES:-1000}
RELOAD_SERVICES=${RELOAD_SERVICES:-10000}
RELOAD_DURATION=${RELOAD_DURATION:-10s}
TURNOUT_BIN=${TURNOUT_BIN:-}
STRICT=${STRICT:-0}
KEEP=${KEEP:-0}

cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="$PATH:/usr/sbin:/sbin"
unset TURNOUT_ADMIN_TOKEN # our turnouts take admin mutations without a token

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

# run_wrk NAME URL DURATION SCRIPT [script args…]: wrk on LOADGEN_CPU, bounded in time.
# Sets W_requests W_duration_us W_errors W_socket_errors W_status_errors W_p50_us W_p99_us.
run_wrk() {
	local name=$1 url=$2 dur=$3 script=$4 line kv rc=0
	shift 4
	bg "wrk-$name" timeout -k 5 $(($(secs "$dur") + 30)) \
		taskset -c "$LOADGEN_CPU" wrk -t"$THREADS" -c"$CONNS" -d"$dur" --timeout 5s -s "$script" "$url" -- "$@"
	wait "$BG_PID" || rc=$?
	stop_pid "$BG_PID"
	line=$(sed -n 's/^WRKSTATS //p' "$TMP/logs/wrk-$name.log")
	if [[ $rc != 0 || -z $line ]]; then
		log "wrk $name failed (exit $rc):"
		sed 's/^/    /' "$TMP/logs/wrk-$name.log" >&2
		return 1
	fi
	for kv in $line; do printf -v "W_${kv%%=*}" '%s' "${kv#*=}"; done
}

# ---------------------------------------------------------------- install
install_missing() {
	if [[ -n $ONLY ]]; then install_cmds wrk; else install_cmds wrk nginx haproxy caddy; fi
}

# ---------------------------------------------------------------- configs
write_nginx() { # DIR PORT
	local d=$1 port=$2
	nginx_head "$d"
	cat >>"$d/nginx.conf" <<EOF

    upstream v1 { server 127.0.0.1:$UP1; keepalive 128; keepalive_requests 1000000; }
    upstream v2 { server 127.0.0.1:$UP2; keepalive 128; keepalive_requests 1000000; }

    # 90/10 per request, X-Canary: always pins v2.
    split_clients "\${request_id}" \$split { 10% v2; * v1; }
    map \$http_x_canary \$backend { always v2; default \$split; }

    server {
        listen 127.0.0.1:$port;
        location / {
            proxy_pass http://\$backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
}

write_haproxy() { # DIR PORT
	local d=$1 port=$2
	mkdir -p "$d"
	haproxy_head "$d/haproxy.cfg"
	cat >>"$d/haproxy.cfg" <<EOF
frontend fe
    bind 127.0.0.1:$port
    # X-Canary: always pins v2; otherwise 10 % of requests at random.
    use_backend v2 if { req.hdr(x-canary) -m str always }
    use_backend v2 if { rand(100) lt 10 }
    default_backend v1

backend v1
    server v1 127.0.0.1:$UP1

backend v2
    server v2 127.0.0.1:$UP2
EOF
}

write_caddy() { # DIR PORT
	local d=$1 port=$2 v1s="" i
	mkdir -p "$d/home"
	# Caddy 2.6 has no weighted policy: nine entries for v1, one for v2, random pick.
	for ((i = 0; i < 9; i++)); do v1s+="127.0.0.1:$UP1 "; done
	cat >"$d/Caddyfile" <<EOF
{
	admin off
	auto_https off
}
:$port {
	bind 127.0.0.1
	@canary header X-Canary always
	handle @canary {
		reverse_proxy 127.0.0.1:$UP2 {
			transport http {
				keepalive 2m
				keepalive_idle_conns_per_host 128
			}
		}
	}
	handle {
		reverse_proxy ${v1s}127.0.0.1:$UP2 {
			lb_policy random
			transport http {
				keepalive 2m
				keepalive_idle_conns_per_host 128
			}
		}
	}
}
EOF
}

# turnout_service NAME PREFIX WEIGHT: one service block with the canary rule and rollout.
turnout_service() {
	cat <<EOF
  $1:
    match: { path_prefix: $2 }
    default: v1
    versions: { v1: { upstream: v1 }, v2: { upstream: v2 } }
    rules:
      - name: canary
        match: { header: { X-Canary: always } }
        version: v2
    rollout: { from: v1, to: v2, weight: $3 }
EOF
}

# write_turnout FILE PORT ADMINPORT [SERVICES [WEIGHT]]: the api service on /,
# plus SERVICES generated services svcNNN on /sNNN (zero-padded, one width).
write_turnout() {
	local f=$1 port=$2 admin=$3 n=${4:-0} weight=${5:-10}
	{
		cat <<EOF
listen: 127.0.0.1:$port
admin: { listen: 127.0.0.1:$admin }
state: memory
log: { level: warn }
upstreams:
  v1: { targets: [http://127.0.0.1:$UP1] }
  v2: { targets: [http://127.0.0.1:$UP2] }
services:
EOF
		turnout_service api / "$weight"
		if ((n > 0)); then
			awk -v n="$n" -v w="$(width "$n")" -v weight="$weight" 'BEGIN {
				for (i = 0; i < n; i++) {
					id = sprintf("%0" w "d", i)
					printf "  svc%s:\n    match: { path_prefix: /s%s }\n    default: v1\n", id, id
					printf "    versions: { v1: { upstream: v1 }, v2: { upstream: v2 } }\n"
					printf "    rules:\n      - name: canary\n        match: { header: { X-Canary: always } }\n        version: v2\n"
					printf "    rollout: { from: v1, to: v2, weight: %s }\n", weight
				}
			}'
		fi
	} >"$f"
}

width() { local m=$(($1 - 1)); echo "${#m}"; } # digits of the largest index

# ---------------------------------------------------------------- main
install_missing
needed=(go wrk nginx haproxy caddy taskset curl ss getconf pgrep)
[[ -n $ONLY ]] && needed=(go wrk taskset curl ss getconf pgrep)
for cmd in "${needed[@]}"; do
	command -v "$cmd" >/dev/null 2>&1 || die "$cmd not found"
done
NCPU=$(nproc)
((NCPU >= 2)) || log "warning: $NCPU CPU(s); wrk and the proxies will share a CPU"
CLK_TCK=$(getconf CLK_TCK)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
if awk -v l="${LOAD_START%% *}" 'BEGIN { exit !(l > 0.5) }'; then
	log "warning: load average is $LOAD_START before starting: other processes are busy, numbers will be noisy"
fi

TMP=$(mktemp -d /tmp/turnout-bench.XXXXXX)
chmod 755 "$TMP"
mkdir -p "$TMP/bin" "$TMP/logs"

log "building bench programs and turnout into $TMP/bin"
go build -o "$TMP/bin/upstream" ./bench/upstream
go build -o "$TMP/bin/check" ./bench/check
go build -o "$TMP/bin/report" ./bench/report
if [[ -n $TURNOUT_BIN ]]; then
	cp "$TURNOUT_BIN" "$TMP/bin/turnout"
else
	go build -o "$TMP/bin/turnout" ./cmd/turnout ||
		die "go build ./cmd/turnout failed (TURNOUT_BIN=PATH benchmarks a prebuilt binary)"
fi
B=$TMP/bin

PROXY=(taskset -c "$PROXY_CPU")
free_port UP1
free_port UP2
bg upstream-v1 "${PROXY[@]}" "$B/upstream" -listen "127.0.0.1:$UP1" -version v1
UP1_PID=$BG_PID
bg upstream-v2 "${PROXY[@]}" "$B/upstream" -listen "127.0.0.1:$UP2" -version v2
UP2_PID=$BG_PID
wait_http "http://127.0.0.1:$UP1/" "$UP1_PID" || die "upstream v1 did not start: $(cat "$TMP/logs/upstream-v1.log")"
wait_http "http://127.0.0.1:$UP2/" "$UP2_PID" || die "upstream v2 did not start: $(cat "$TMP/logs/upstream-v2.log")"

declare -A PORT PID
start_target() { # start_target NAME: start the proxy, set PORT[NAME] and PID[NAME]
	local t=$1 port admin d=$TMP/$1
	if [[ $t == direct ]]; then
		PORT[$t]=$UP1
		PID[$t]=""
		return 0
	fi
	free_port port
	mkdir -p "$d"
	case "$t" in
	nginx)
		write_nginx "$d" "$port"
		bg nginx "${PROXY[@]}" nginx -c "$d/nginx.conf" -p "$d/" -e "$d/error.log"
		;;
	haproxy)
		write_haproxy "$d" "$port"
		bg haproxy "${PROXY[@]}" haproxy -f "$d/haproxy.cfg" -db
		;;
	caddy)
		write_caddy "$d" "$port"
		bg caddy env HOME="$d/home" XDG_DATA_HOME="$d/home" XDG_CONFIG_HOME="$d/home" GOMAXPROCS="$WORKERS" \
			"${PROXY[@]}" caddy run --config "$d/Caddyfile" --adapter caddyfile
		;;
	turnout)
		free_port admin
		write_turnout "$d/turnout.yaml" "$port" "$admin"
		"$B/turnout" validate -c "$d/turnout.yaml" >&2 || die "turnout config invalid"
		bg turnout env GOMAXPROCS="$WORKERS" "${PROXY[@]}" "$B/turnout" serve -c "$d/turnout.yaml"
		;;
	turnout-nethttp) # the same, with net/http's server for the data plane (TURNOUT_HTTP_SERVER)
		free_port admin
		write_turnout "$d/turnout.yaml" "$port" "$admin"
		bg "$t" env GOMAXPROCS="$WORKERS" TURNOUT_HTTP_SERVER=net/http "${PROXY[@]}" "$B/turnout" serve -c "$d/turnout.yaml"
		;;
	*) die "unknown target $t (want direct, nginx, haproxy, caddy, turnout or turnout-nethttp)" ;;
	esac
	PORT[$t]=$port
	PID[$t]=$BG_PID
	wait_http "http://127.0.0.1:$port/" "$BG_PID" 30 || {
		log "$t did not start; its log:"
		sed 's/^/    /' "$TMP/logs/$t.log" >&2
		return 1
	}
}

# versions for the header
TURNOUT_REV=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -z $TURNOUT_BIN ]] && [[ -n $(git status --porcelain -- cmd internal go.mod go.sum 2>/dev/null) ]]; then
	TURNOUT_REV+=" + uncommitted changes"
fi
[[ -n $TURNOUT_BIN ]] && TURNOUT_REV="$TURNOUT_BIN"

STATUS=0
ROUTING=$TMP/routing.tsv
RESULTS=$TMP/results.tsv
: >"$ROUTING"
: >"$RESULTS"
MEASURE=()
for t in $TARGETS; do
	if ! start_target "$t"; then
		printf '%s\tFAIL\tdid not start\n' "$t" >>"$ROUTING"
		STATUS=1
		continue
	fi
	url="http://127.0.0.1:${PORT[$t]}/"
	if [[ $t == direct ]]; then
		args=(-min 0 -max 0 -canary=false)
	else
		args=(-min 0.06 -max 0.14)
	fi
	if out=$(taskset -c "$LOADGEN_CPU" "$B/check" -url "$url" -n "$CHECK_N" "${args[@]}"); then
		log "routing $t: $out"
		printf '%s\tok\t%s\n' "$t" "$out" >>"$ROUTING"
		MEASURE+=("$t")
	else
		log "routing $t: $out"
		printf '%s\tFAIL\t%s\n' "$t" "${out#FAIL }" >>"$ROUTING"
		STATUS=1
	fi
done
[[ -n $ONLY ]] || ((${#MEASURE[@]} > 0)) || die "no target passed its routing check"

if [[ $(secs "$WARMUP") != 0 ]]; then
	for t in "${MEASURE[@]+"${MEASURE[@]}"}"; do
		log "warm-up $t ($WARMUP)"
		run_wrk "warmup-$t" "http://127.0.0.1:${PORT[$t]}/" "$WARMUP" "$ROOT/bench/wrk/stats.lua" || STATUS=1
	done
fi

for ((r = 1; r <= ROUNDS; r++)); do
	for t in "${MEASURE[@]+"${MEASURE[@]}"}"; do
		sleep 1
		before=-1
		[[ -n ${PID[$t]} ]] && before=$(cpu_ticks "${PID[$t]}")
		ours_before=$(($(cpu_ticks "$UP1_PID") + $(cpu_ticks "$UP2_PID") + (before < 0 ? 0 : before)))
		busy_before=$(cpu_busy "$PROXY_CPU")
		lg_before=$(cpu_busy "$LOADGEN_CPU")
		reaped_before=$(reaped_ticks)
		t0=$(date +%s%N)
		if ! run_wrk "$t-$r" "http://127.0.0.1:${PORT[$t]}/" "$DURATION" "$ROOT/bench/wrk/stats.lua"; then
			STATUS=1
			continue
		fi
		ticks=-1
		[[ -n ${PID[$t]} ]] && ticks=$(($(cpu_ticks "${PID[$t]}") - before))
		ours=$(($(cpu_ticks "$UP1_PID") + $(cpu_ticks "$UP2_PID") + (ticks < 0 ? 0 : ticks + before) - ours_before))
		busy=$(($(cpu_busy "$PROXY_CPU") - busy_before))
		# wrk has been reaped by now: its CPU is in this shell's children's times
		lg_ours=$(($(reaped_ticks) - reaped_before))
		lg_busy=$(($(cpu_busy "$LOADGEN_CPU") - lg_before))
		# share of each CPU that went to processes other than ours
		read -r others others_lg < <(awk -v b="$busy" -v o="$ours" -v lb="$lg_busy" -v lo="$lg_ours" \
			-v ns=$(($(date +%s%N) - t0)) -v hz="$CLK_TCK" 'BEGIN {
			x = (b - o) / (ns / 1e9 * hz) * 100; y = (lb - lo) / (ns / 1e9 * hz) * 100
			printf "%.0f %.0f\n", x < 0 ? 0 : x, y < 0 ? 0 : y }')
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$t" "$W_requests" "$W_duration_us" "$W_errors" \
			"$W_p50_us" "$W_p99_us" "$ticks" "$others" "$others_lg" >>"$RESULTS"
		log "$(awk -v r="$r" -v t="$t" -v n="$W_requests" -v d="$W_duration_us" -v p50="$W_p50_us" \
			-v p99="$W_p99_us" -v e="$W_errors" -v ticks="$ticks" -v hz="$CLK_TCK" \
			-v others="$others" -v others_lg="$others_lg" -v pc="$PROXY_CPU" -v lc="$LOADGEN_CPU" \
			-v detail="socket $W_socket_errors, status $W_status_errors" 'BEGIN {
			cpu = ticks < 0 ? "-" : sprintf("%.1f", ticks / hz * 1e6 / n)
			printf "round %d %-8s %8.0f req/s  p50 %.2f ms  p99 %.2f ms  CPU %s µs/req  errors %d (%s)  others on CPU %s/%s: %d%%/%d%%",
				r, t, n / (d / 1e6), p50 / 1000, p99 / 1000, cpu, e, detail, pc, lc, others, others_lg }')"
	done
done

TURNOUT_MAIN_RSS=""
if [[ -n ${PID[turnout]:-} ]]; then
	TURNOUT_MAIN_RSS=$(proc_kib "${PID[turnout]}" VmRSS)
fi
for t in "${!PID[@]}"; do [[ -n ${PID[$t]} ]] && stop_pid "${PID[$t]}"; done

REPORT_EXTRA=()
if [[ $EXTRA == 1 && $ONLY != reload ]]; then
	# ---- RSS with 1,000 services, after the same wrk load spread over their paths
	d=$TMP/rss
	mkdir -p "$d"
	free_port port
	free_port admin
	write_turnout "$d/turnout.yaml" "$port" "$admin" "$RSS_SERVICES"
	"$B/turnout" validate -c "$d/turnout.yaml" >&2 || die "1,000-service config invalid"
	log "RSS step: turnout with $((RSS_SERVICES + 1)) services, wrk $DURATION over their paths"
	bg turnout-rss env GOMAXPROCS="$WORKERS" "${PROXY[@]}" "$B/turnout" serve -c "$d/turnout.yaml"
	rss_pid=$BG_PID
	w=$(width "$RSS_SERVICES")
	mid=$(printf "%0${w}d" $((RSS_SERVICES / 2)))
	if wait_http "http://127.0.0.1:$port/s$mid/x" "$rss_pid" 60; then
		idle_kib=$(proc_kib "$rss_pid" VmRSS)
		out=$(taskset -c "$LOADGEN_CPU" "$B/check" -url "http://127.0.0.1:$port/s$mid/x" -n "$CHECK_N") || STATUS=1
		log "routing /s$mid/x: $out"
		if run_wrk rss "http://127.0.0.1:$port/" "$DURATION" "$ROOT/bench/wrk/paths.lua" "$RSS_SERVICES" "$w"; then
			REPORT_EXTRA+=(-rss-kib "$(proc_kib "$rss_pid" VmRSS)" -rss-hwm-kib "$(proc_kib "$rss_pid" VmHWM)" -rss-idle-kib "$idle_kib"
				-rss-errors "$W_errors" -rss-rps "$(awk -v n="$W_requests" -v d="$W_duration_us" 'BEGIN { print n / (d / 1e6) }')")
		else
			STATUS=1
		fi
	else
		log "turnout with $RSS_SERVICES services did not start:"
		sed 's/^/    /' "$TMP/logs/turnout-rss.log" >&2
		STATUS=1
	fi
	stop_pid "$rss_pid"
fi
if [[ $EXTRA == 1 && $ONLY != rss ]]; then
	# ---- reload of 10,000 services under load
	# The config path is a symlink into another directory, and the new file is
	# renamed over the symlink's target: Turnout's file watcher (which watches
	# the link's directory) stays quiet, so the timed POST /api/v1/reload is the
	# only reload and nothing else competes with it for the CPU.
	d=$TMP/reload
	mkdir -p "$d/conf" "$d/real"
	free_port port
	free_port admin
	write_turnout "$d/real/turnout.yaml" "$port" "$admin" "$RELOAD_SERVICES" 10
	write_turnout "$d/real/next.yaml" "$port" "$admin" "$RELOAD_SERVICES" 20
	ln -s "$d/real/turnout.yaml" "$d/conf/turnout.yaml"
	log "reload step: turnout with $((RELOAD_SERVICES + 1)) services ($(du -h "$d/real/turnout.yaml" | cut -f1) of YAML)"
	start=$(date +%s%N)
	bg turnout-reload env GOMAXPROCS="$WORKERS" "${PROXY[@]}" "$B/turnout" serve -c "$d/conf/turnout.yaml"
	rl_pid=$BG_PID
	w=$(width "$RELOAD_SERVICES")
	mid=$(printf "%0${w}d" $((RELOAD_SERVICES / 2)))
	if wait_http "http://127.0.0.1:$port/s$mid/x" "$rl_pid" 120; then
		log "turnout with $((RELOAD_SERVICES + 1)) services ready in $((($(date +%s%N) - start) / 1000000)) ms"
		dur_s=$(secs "$RELOAD_DURATION")
		bg wrk-reload timeout -k 5 $((dur_s + 30)) taskset -c "$LOADGEN_CPU" \
			wrk -t"$THREADS" -c"$CONNS" -d"$RELOAD_DURATION" --timeout 5s -s "$ROOT/bench/wrk/paths.lua" \
			"http://127.0.0.1:$port/" -- "$RELOAD_SERVICES" "$w"
		wrk_pid=$BG_PID
		sleep $((dur_s / 3 > 0 ? dur_s / 3 : 1))
		mv "$d/real/next.yaml" "$d/real/turnout.yaml"
		reload=$(curl -sS -m 30 -o "$d/reload.json" -w '%{http_code} %{time_total}' \
			-X POST -H 'Content-Type: application/json' "http://127.0.0.1:$admin/api/v1/reload" 2>&1) || true
		rc=0
		wait "$wrk_pid" || rc=$?
		stop_pid "$wrk_pid"
		code=${reload%% *}
		ms=$(awk -v t="${reload##* }" 'BEGIN { printf "%.1f", t * 1000 }')
		body_status=$(sed -n 's/.*"status" *: *"\([a-z]*\)".*/\1/p' "$d/reload.json" 2>/dev/null | head -1)
		log "reload: HTTP $code in $ms ms, body: $(head -c 300 "$d/reload.json" 2>/dev/null)"
		line=$(sed -n 's/^WRKSTATS //p' "$TMP/logs/wrk-reload.log")
		if [[ $rc == 0 && -n $line ]]; then
			for kv in $line; do printf -v "W_${kv%%=*}" '%s' "${kv#*=}"; done
			REPORT_EXTRA+=(-reload-ms "$ms" -reload-status "HTTP $code ${body_status:-?}" -reload-errors "$W_errors"
				-reload-rps "$(awk -v n="$W_requests" -v d="$W_duration_us" 'BEGIN { print n / (d / 1e6) }')")
		else
			log "wrk during the reload failed (exit $rc):"
			sed 's/^/    /' "$TMP/logs/wrk-reload.log" >&2
			STATUS=1
		fi
		# The new file moved the rollout weight from 10 to 20 %: see whether it took.
		out=$(taskset -c "$LOADGEN_CPU" "$B/check" -url "http://127.0.0.1:$port/s$mid/x" -n "$CHECK_N" -min 0.15 -max 0.25) || true
		log "after reload, /s$mid/x (weight 20 in the new file): $out"
	else
		log "turnout with $RELOAD_SERVICES services did not start:"
		sed 's/^/    /' "$TMP/logs/turnout-reload.log" >&2
		STATUS=1
	fi
	stop_pid "$rl_pid"
fi
[[ $EXTRA == 1 && -z $ONLY ]] && { TURNOUT_BIN="$B/turnout" "$ROOT/bench/idle.sh" || STATUS=1; } # RSS per idle connection, h1 and h2c, against nginx and HAProxy (bench/idle.sh)
stop_pid "$UP1_PID"
stop_pid "$UP2_PID"

# ---------------------------------------------------------------- report
echo
echo "Turnout whole-proxy benchmark — $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $NCPU CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), $(uname -sr)"
echo "load: wrk -t$THREADS -c$CONNS -d$DURATION on CPU $LOADGEN_CPU; proxies and both upstreams on CPU $PROXY_CPU;" \
	"$WORKERS workers each; $ROUNDS interleaved round(s), medians shown"
echo "routing: X-Canary: always -> v2, otherwise 90/10 v1/v2 per request; 1 KiB JSON answers; upstream keep-alive on"
if [[ -n $ONLY ]]; then
	echo "versions: turnout $TURNOUT_REV; $(wrk -v 2>&1 | awk 'NR==1 { print $1, $2 }'); $(go version | awk '{ print $3 }') (--only $ONLY)"
else
	echo "versions: turnout $TURNOUT_REV; $(nginx -v 2>&1 | sed 's/nginx version: //'); haproxy $(haproxy -v | awk 'NR==1 { print $3 }');" \
		"caddy $(caddy version | awk '{ print $1 }'); $(wrk -v 2>&1 | awk 'NR==1 { print $1, $2 }'); $(go version | awk '{ print $3 }')"
fi
echo "load average (1/5/15 min): $LOAD_START before, $(cut -d' ' -f1-3 /proc/loadavg) after — anything well above 2 means other work shared the CPUs"
[[ -n $TURNOUT_MAIN_RSS ]] && echo "turnout (1 service) VmRSS after its runs: $(awk -v k="$TURNOUT_MAIN_RSS" 'BEGIN { printf "%.1f MiB", k / 1024 }')"
echo
strict=()
[[ $STRICT == 1 ]] && strict=(-strict)
"$B/report" -results "$RESULTS" -routing "$ROUTING" -clk-tck "$CLK_TCK" "${strict[@]}" "${REPORT_EXTRA[@]}" || STATUS=1
exit "$STATUS"
