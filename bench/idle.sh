#!/usr/bin/env bash
# bench/idle.sh — what an idle keep-alive client connection costs Turnout,
# nginx and HAProxy, measured in one run: each proxy (in front of the same
# bench/upstream) gets N connections that each carried one request and then
# stay idle, for HTTP/1.1 and for h2c (HTTP/2 with prior knowledge); the
# growth of its resident memory (VmRSS, master and workers) divided by N is
# the cost per connection. bench/idle/ opens the connections and reads the
# memory (after -warm connections that are not counted).
#
#   bench/idle.sh           # N=5000, targets nginx haproxy turnout, protos h1 h2c
#
# Environment (defaults in brackets):
#   N [5000]  WARM [200]  PROTOS ["h1 h2c"]  TARGETS ["nginx haproxy turnout"]
#   (turnout-nethttp: Turnout with net/http's server on the data plane;
#   turnout-base: the binary BASE_BIN, e.g. built from an older commit, for a
#   before/after in one run)
#   WORKERS [2]  TURNOUT_BIN (a prebuilt turnout instead of building ./cmd/turnout)
#   KEEP [0]  1: keep the temp dir (configs, logs)
#
# Loopback only, bounded in time (each measurement under 120 s); every
# process it starts is stopped by PID on exit.
set -euo pipefail
N=${N:-5000}
WARM=${WARM:-200}
PROTOS=${PROTOS:-h1 h2c}
TARGETS=${TARGETS:-nginx haproxy turnout}
WORKERS=${WORKERS:-2}
TURNOUT_BIN=${TURNOUT_BIN:-}
KEEP=${KEEP:-0}

cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin:/sbin"
log() { printf '[idle %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Each measurement holds N+WARM client sockets in the client and as many in
# the proxy (plus its upstream ones).
need=$((N + WARM + 512))
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
(($(ulimit -n) >= need)) || die "ulimit -n is $(ulimit -n), need $need for N=$N (lower N)"

TMP=""
PIDS=()
cleanup() {
	local rc=$? i
	trap - EXIT INT TERM
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[i]}"; done
	if [[ -n $TMP && -d $TMP ]]; then
		if [[ $KEEP == 1 ]]; then log "kept $TMP"; else rm -rf "$TMP"; fi
	fi
	exit "$rc"
}
stop_pid() { # the process and its children, by PID
	local pid=$1 all p i alive
	all="$pid $(pgrep -P "$pid" 2>/dev/null | tr '\n' ' ' || true)"
	# shellcheck disable=SC2086
	kill -TERM $all 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		alive=0
		for p in $all; do kill -0 "$p" 2>/dev/null && alive=1; done
		[[ $alive == 0 ]] && break
		sleep 0.1
	done
	# shellcheck disable=SC2086
	kill -KILL $all 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	local keep=()
	for p in "${PIDS[@]}"; do [[ $p != "$pid" ]] && keep+=("$p"); done
	PIDS=("${keep[@]}")
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

BG_PID=""
bg() { # bg NAME CMD...: start CMD, output to $TMP/NAME.log
	local name=$1
	shift
	"$@" >"$TMP/$name.log" 2>&1 &
	BG_PID=$!
	PIDS+=("$BG_PID")
}
free_port() { # free_port VAR: a loopback port nothing listens on
	local p
	while :; do
		p=$((20000 + RANDOM % 10000))
		[[ -z $(ss -Htan "( sport = :$p )" 2>/dev/null) && " ${USED:-} " != *" $p "* ]] && break
	done
	USED="${USED:-} $p"
	printf -v "$1" '%s' "$p"
}
wait_up() { # wait_up URL PID [h2c]: until URL answers 200 (bounded)
	local i args=(-fsS -o /dev/null -m 2)
	[[ ${3:-} == h2c ]] && args+=(--http2-prior-knowledge)
	for ((i = 0; i < 150; i++)); do
		kill -0 "$2" 2>/dev/null || return 1
		curl "${args[@]}" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

for cmd in go curl ss pgrep; do command -v "$cmd" >/dev/null || die "$cmd not found"; done
TMP=$(mktemp -d /tmp/turnout-idle.XXXXXX)
chmod 755 "$TMP"
go build -o "$TMP/upstream" ./bench/upstream
go build -o "$TMP/idle" ./bench/idle
if [[ -n $TURNOUT_BIN ]]; then cp "$TURNOUT_BIN" "$TMP/turnout"; else go build -o "$TMP/turnout" ./cmd/turnout; fi
free_port UP
bg upstream "$TMP/upstream" -listen "127.0.0.1:$UP" -version v1
wait_up "http://127.0.0.1:$UP/" "$BG_PID" || die "upstream did not start"

# nginx: http2 on a cleartext listener is prior-knowledge h2c; from 1.25.1
# it is "http2 on;", before that the listen parameter.
write_nginx() { # DIR P1 P2
	local d=$1 h2listen="listen 127.0.0.1:$3 http2;" h2on="" v user=""
	v=$(nginx -v 2>&1 | sed -n 's|.*nginx/\([0-9.]*\).*|\1|p')
	if [[ $(printf '%s\n1.25.1\n' "$v" | sort -V | head -1) == 1.25.1 ]]; then
		h2listen="listen 127.0.0.1:$3;" h2on="http2 on;"
	fi
	[[ $EUID == 0 ]] && user="user nobody nogroup;"
	mkdir -p "$d/tmp" && chmod 777 "$d/tmp"
	cat >"$d/nginx.conf" <<EOF
$user
daemon off;
worker_processes $WORKERS;
worker_rlimit_nofile $need;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections $need; }
http {
    access_log off;
    client_body_temp_path $d/tmp/body;
    proxy_temp_path $d/tmp/proxy;
    keepalive_timeout 300s;
    keepalive_requests 1000000;
    upstream v1 { server 127.0.0.1:$UP; keepalive 128; }
    server { listen 127.0.0.1:$2; location / { proxy_pass http://v1; proxy_http_version 1.1; proxy_set_header Connection ""; } }
    server { $h2listen $h2on location / { proxy_pass http://v1; proxy_http_version 1.1; proxy_set_header Connection ""; } }
}
EOF
}

write_haproxy() { # DIR P1 P2
	cat >"$1/haproxy.cfg" <<EOF
global
    nbthread $WORKERS
    maxconn $need
defaults
    mode http
    timeout connect 5s
    timeout client 300s
    timeout server 30s
    timeout http-keep-alive 300s
    option http-keep-alive
frontend h1
    bind 127.0.0.1:$2
    default_backend v1
frontend h2c
    bind 127.0.0.1:$3 proto h2
    default_backend v1
backend v1
    server v1 127.0.0.1:$UP
EOF
}

write_turnout() { # DIR P1 ADMIN: one port serves HTTP/1.1 and h2c
	cat >"$1/turnout.yaml" <<EOF
listen: 127.0.0.1:$2
admin: { listen: 127.0.0.1:$3 }
state: memory
log: { level: warn }
limits: { idle_timeout: 300s }
upstreams:
  v1: { targets: [http://127.0.0.1:$UP] }
services:
  api:
    match: { path_prefix: / }
    default: v1
    versions: { v1: { upstream: v1 } }
EOF
}

# start_target NAME: a fresh process for each measurement, so that memory
# one measurement freed (and the allocator kept) does not hide the next
# one's growth. Sets P1, P2 (its HTTP/1.1 and h2c ports) and TPID.
start_target() {
	local t=$1 d=$TMP/run-$1 admin engine bin
	rm -rf "$d" && mkdir -p "$d"
	free_port P1
	P2=$P1
	case $t in
	nginx)
		free_port P2
		write_nginx "$d" "$P1" "$P2"
		bg "$t" nginx -c "$d/nginx.conf" -p "$d/" -e "$d/error.log"
		;;
	haproxy)
		free_port P2
		write_haproxy "$d" "$P1" "$P2"
		bg "$t" haproxy -f "$d/haproxy.cfg" -db
		;;
	turnout | turnout-nethttp | turnout-base)
		free_port admin
		write_turnout "$d" "$P1" "$admin"
		engine="" bin=$TMP/turnout
		[[ $t == turnout-nethttp ]] && engine=net/http
		if [[ $t == turnout-base ]]; then
			[[ -x ${BASE_BIN:-} ]] || die "turnout-base needs BASE_BIN, a turnout binary"
			bin=$BASE_BIN
		fi
		bg "$t" env GOMAXPROCS="$WORKERS" TURNOUT_HTTP_SERVER="$engine" "$bin" serve -c "$d/turnout.yaml"
		;;
	*) die "unknown target $t" ;;
	esac
	TPID=$BG_PID
	wait_up "http://127.0.0.1:$P1/" "$TPID" || die "$t did not start: $(tail -5 "$TMP/$t.log")"
	wait_up "http://127.0.0.1:$P2/" "$TPID" h2c || die "$t does not answer h2c: $(tail -5 "$TMP/$t.log")"
}

declare -A KB
for proto in $PROTOS; do
	for t in $TARGETS; do
		start_target "$t"
		port=$P1
		[[ $proto == h2c ]] && port=$P2
		log "$t $proto: $WARM + $N idle connections"
		line=$(timeout -k 5 150 "$TMP/idle" -addr "127.0.0.1:$port" -pid "$TPID" -proto "$proto" \
			-n "$N" -warm "$WARM" -label "$t") || die "$t $proto: measurement failed"
		log "$line"
		KB[$t/$proto]=$(sed -n 's/.* kb_per_conn=\([-0-9.]*\).*/\1/p' <<<"$line")
		stop_pid "$TPID"
	done
done

echo "RSS per idle keep-alive connection (KB = 1,000 bytes), N=$N after $WARM uncounted, $(nginx -v 2>&1 | sed 's/.*: //'), $(haproxy -v | head -1 | awk '{ print "HAProxy " $3 }'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
printf '%-16s' target
for proto in $PROTOS; do printf '%10s %9s' "$proto KB" "×nginx"; done
echo
for t in $TARGETS; do
	printf '%-16s' "$t"
	for proto in $PROTOS; do
		kb=${KB[$t/$proto]} ngx=${KB[nginx/$proto]:-}
		ratio=$(awk -v a="$kb" -v b="$ngx" 'BEGIN { if (b == "" || b <= 0) print "-"; else printf "%.1f", a / b }')
		printf '%10s %9s' "$kb" "$ratio"
	done
	echo
done
