#!/usr/bin/env bash
# bench/h2.sh — HTTP/2, gRPC and TLS benchmark: Turnout against HAProxy and nginx.
#
#   bench/h2.sh             # 3 interleaved rounds of 5 s per scenario and target (about 5 minutes)
#   bench/h2.sh --quick     # sanity run: 1 round of 2 s
#   bench/run.sh --h2 …     # the same, from the main benchmark script
#
# Scenarios: grpc-unary (EmptyCall), grpc-stream (StreamingOutputCall, 100
# messages per call) over h2c both sides against grpc-go's interop server;
# tls-h1 (wrk over HTTPS) and tls-h2 (h2load over HTTPS) against the plain
# HTTP/1.1 bench/upstream, TLS 1.3 with one self-signed certificate.
#
# Environment (defaults in brackets):
#   DURATION [5, seconds]  ROUNDS [3]  WARMUP [1, seconds; 0 = none]
#   SCENARIOS ["grpc-unary grpc-stream tls-h1 tls-h2"]
#   TARGETS ["direct haproxy nginx turnout"]; direct is the gRPC server without
#                          a proxy (gRPC scenarios only); go-floor is bench/h2floor, a bare
#                          httputil.ReverseProxy on net/http's HTTP/2 server and client (gRPC
#                          only); turnout-base is a second Turnout binary, TURNOUT_BASE
#                          (for before/after in one run)
#   GRPC_CONNS [16]  GRPC_STREAMS [8]   h2load -c / -m for the gRPC scenarios
#   TLS_CONNS [64]   TLS_H2_CONNS [16]  TLS_H2_STREAMS [4]
#   STREAM_MSGS [100]  STREAM_MSG_BYTES [10]   the server-streaming call
#   LOADGEN_CPU [0]  PROXY_CPU [1]  WORKERS [1]  (nginx workers, HAProxy threads, GOMAXPROCS)
#   TURNOUT_BIN            benchmark this binary instead of building ./cmd/turnout
#   STRICT [0]             1: exit 1 when a Turnout target FAILs
#   KEEP [0]               1: keep the temp dir (configs, logs, raw results)
#
# See bench/README.md ("HTTP/2, gRPC and TLS") for what is measured and how.
set -euo pipefail

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

QUICK=0
while (($# > 0)); do
	case "$1" in
	--quick) QUICK=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "h2.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
if [[ $QUICK == 1 ]]; then
	DURATION=${DURATION:-2}
	ROUNDS=${ROUNDS:-1}
fi
DURATION=${DURATION:-5}
DURATION=${DURATION%s}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-1}
WARMUP=${WARMUP%s}
SCENARIOS=${SCENARIOS:-grpc-unary grpc-stream tls-h1 tls-h2}
TARGETS=${TARGETS:-direct haproxy nginx turnout}
GRPC_CONNS=${GRPC_CONNS:-16}
GRPC_STREAMS=${GRPC_STREAMS:-8}
TLS_CONNS=${TLS_CONNS:-64}
TLS_H2_CONNS=${TLS_H2_CONNS:-16}
TLS_H2_STREAMS=${TLS_H2_STREAMS:-4}
STREAM_MSGS=${STREAM_MSGS:-100}
STREAM_MSG_BYTES=${STREAM_MSG_BYTES:-10}
LOADGEN_CPU=${LOADGEN_CPU:-0}
PROXY_CPU=${PROXY_CPU:-1}
WORKERS=${WORKERS:-1}
TURNOUT_BIN=${TURNOUT_BIN:-}
TURNOUT_BASE=${TURNOUT_BASE:-}
STRICT=${STRICT:-0}
KEEP=${KEEP:-0}
((STREAM_MSGS >= 1 && STREAM_MSGS <= 1000 && STREAM_MSG_BYTES >= 0 && STREAM_MSG_BYTES <= 127)) ||
	{ echo "h2.sh: STREAM_MSGS 1–1000 and STREAM_MSG_BYTES 0–127, please" >&2; exit 2; }

cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="$PATH:/usr/sbin:/sbin"
unset TURNOUT_ADMIN_TOKEN
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
# shellcheck source=bench/h2conf.sh
source "$ROOT/bench/h2conf.sh"

install_cmds wrk nginx haproxy h2load=nghttp2-client openssl
for cmd in go wrk nginx haproxy h2load openssl taskset curl ss getconf pgrep timeout; do
	command -v "$cmd" >/dev/null 2>&1 || die "$cmd not found"
done
CLK_TCK=$(getconf CLK_TCK)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

TMP=$(mktemp -d /tmp/turnout-h2bench.XXXXXX)
chmod 755 "$TMP"
mkdir -p "$TMP/bin" "$TMP/logs"
B=$TMP/bin

log "building grpc-go's interop server and client, bench/upstream and turnout into $B"
go build -o "$B/grpc-server" google.golang.org/grpc/interop/server
go build -o "$B/grpc-client" google.golang.org/grpc/interop/client
go build -o "$B/upstream" ./bench/upstream
go build -o "$B/h2floor" ./bench/h2floor
if [[ -n $TURNOUT_BIN ]]; then
	cp "$TURNOUT_BIN" "$B/turnout"
else
	go build -o "$B/turnout" ./cmd/turnout || die "go build ./cmd/turnout failed"
fi
if [[ " $TARGETS " == *" turnout-base "* ]]; then
	[[ -n $TURNOUT_BASE ]] || die "target turnout-base needs TURNOUT_BASE=PATH of a turnout binary"
	cp "$TURNOUT_BASE" "$B/turnout-base"
fi

# ---- request bodies: one gRPC frame each (flag byte, 4-byte length, message)
printf '\0\0\0\0\0' >"$TMP/unary.bin" # grpc.testing.Empty
{
	# StreamingOutputCallRequest: STREAM_MSGS × response_parameters (field 2) { size (field 1) }
	len=$((STREAM_MSGS * 4))
	printf "\\x00\\x$(printf %02x $((len >> 24 & 255)))\\x$(printf %02x $((len >> 16 & 255)))"
	printf "\\x$(printf %02x $((len >> 8 & 255)))\\x$(printf %02x $((len & 255)))"
	for ((i = 0; i < STREAM_MSGS; i++)); do printf "\\x12\\x02\\x08\\x$(printf %02x "$STREAM_MSG_BYTES")"; done
} >"$TMP/stream.bin"

# ---- certificate: one self-signed P-256 certificate for every TLS listener
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
	-addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null
cat "$TMP/cert.pem" "$TMP/key.pem" >"$TMP/haproxy.pem"

# ---- upstreams, on the proxies' CPU
PROXY=(taskset -c "$PROXY_CPU")
free_port GUP
free_port HUP
bg grpc-server env GOMAXPROCS="$WORKERS" "${PROXY[@]}" "$B/grpc-server" -port "$GUP"
GUP_PID=$BG_PID
bg upstream "${PROXY[@]}" "$B/upstream" -listen "127.0.0.1:$HUP" -version v1
HUP_PID=$BG_PID
wait_http "http://127.0.0.1:$HUP/" "$HUP_PID" || die "bench/upstream did not start"

# The interop client's cases: three for every target, all fourteen for Turnout's.
INTEROP_SOME="empty_unary large_unary server_streaming"
INTEROP_ALL="empty_unary large_unary client_streaming server_streaming ping_pong empty_stream
	timeout_on_sleeping_server cancel_after_begin cancel_after_first_response status_code_and_message
	special_status_message custom_metadata unimplemented_method unimplemented_service"
grpc_ok() { # grpc_ok PORT CASES…: each of grpc-go's interop client's CASES passes through PORT
	local c port=$1
	shift
	for c in "$@"; do
		timeout 20 "$B/grpc-client" -server_host 127.0.0.1 -server_port "$port" -test_case "$c" >>"$TMP/logs/grpc-client.log" 2>&1 ||
			{ log "interop case $c failed through port $port"; return 1; }
	done
}
wait_grpc() { # wait_grpc PORT PID: until empty_unary passes through PORT (15 s at most)
	local start=$SECONDS
	while ((SECONDS - start < 15)); do
		kill -0 "$2" 2>/dev/null || return 1
		timeout 5 "$B/grpc-client" -server_host 127.0.0.1 -server_port "$1" -test_case empty_unary >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}
wait_grpc "$GUP" "$GUP_PID" || die "grpc-go interop server did not start: $(cat "$TMP/logs/grpc-server.log")"

# ---- proxies: each serves gRPC on h2c (PORT) and HTTPS (TPORT) at once
declare -A PORT TPORT PID
start_target() { # start_target NAME
	local t=$1 d=$TMP/$1 port tport admin
	if [[ $t == direct ]]; then
		PORT[$t]=$GUP TPORT[$t]="" PID[$t]=""
		return 0
	fi
	free_port port
	free_port tport
	mkdir -p "$d"
	case "$t" in
	haproxy)
		h2_haproxy "$d" "$port" "$tport"
		bg "$t" "${PROXY[@]}" haproxy -f "$d/haproxy.cfg" -db
		;;
	nginx)
		h2_nginx "$d" "$port" "$tport"
		bg "$t" "${PROXY[@]}" nginx -c "$d/nginx.conf" -p "$d/" -e "$d/error.log"
		;;
	go-floor)
		bg "$t" env GOMAXPROCS="$WORKERS" "${PROXY[@]}" "$B/h2floor" -listen "127.0.0.1:$port" -upstream "http://127.0.0.1:$GUP"
		tport=""
		;;
	turnout | turnout-base)
		free_port admin
		h2_turnout "$d/turnout.yaml" "$port" "$tport" "$admin"
		"$B/$t" validate -c "$d/turnout.yaml" >&2 || die "$t config invalid"
		bg "$t" env GOMAXPROCS="$WORKERS" "${PROXY[@]}" "$B/$t" serve -c "$d/turnout.yaml"
		;;
	*) die "unknown target $t (want direct, haproxy, nginx, go-floor, turnout or turnout-base)" ;;
	esac
	PORT[$t]=$port TPORT[$t]=$tport PID[$t]=$BG_PID
	wait_grpc "$port" "$BG_PID" || { log "$t did not start:"; sed 's/^/    /' "$TMP/logs/$t.log" >&2; return 1; }
}

STATUS=0
RESULTS=$TMP/results.tsv
: >"$RESULTS"
MEASURE=()
for t in $TARGETS; do
	start_target "$t" || { STATUS=1; continue; }
	cases=$INTEROP_SOME
	[[ $t == turnout* ]] && cases=$INTEROP_ALL
	# shellcheck disable=SC2086
	if ! grpc_ok "${PORT[$t]}" $cases; then
		log "$t: grpc-go's interop client failed through it:"
		tail -5 "$TMP/logs/grpc-client.log" | sed 's/^/    /' >&2
		STATUS=1
		continue
	fi
	if [[ -n ${TPORT[$t]} ]]; then
		for v in --http1.1 --http2; do
			out=$(curl -sS -o /dev/null -m 5 -k --tlsv1.3 "$v" -w '%{http_code} HTTP/%{http_version}' "https://127.0.0.1:${TPORT[$t]}/") ||
				{ log "$t: HTTPS $v failed"; STATUS=1; continue 2; }
			log "$t: HTTPS $v check: $out"
		done
	fi
	log "$t: interop cases pass: $(echo $cases)"
	MEASURE+=("$t")
done
((${#MEASURE[@]} > 0)) || die "no target passed its checks"

# load SCENARIO TARGET NAME: one bounded load-generator run, on LOADGEN_CPU, for DUR seconds.
# Sets L_calls L_secs L_errors L_p50_us L_p99_us.
load() {
	local s=$1 t=$2 name=$3 dur=${4:-$DURATION} url rc=0 out=$TMP/logs/load-$3.log lat=$TMP/logs/lat-$3.tsv
	local h2=(timeout -k 5 $((dur + 30)) taskset -c "$LOADGEN_CPU" h2load -t 1 -D "$dur" --log-file="$lat")
	local grpc=(-c "$GRPC_CONNS" -m "$GRPC_STREAMS" -H 'content-type: application/grpc' -H 'te: trailers')
	case "$s" in
	grpc-unary) "${h2[@]}" "${grpc[@]}" -d "$TMP/unary.bin" \
		"http://127.0.0.1:${PORT[$t]}/grpc.testing.TestService/EmptyCall" >"$out" 2>&1 || rc=$? ;;
	grpc-stream) "${h2[@]}" "${grpc[@]}" -d "$TMP/stream.bin" \
		"http://127.0.0.1:${PORT[$t]}/grpc.testing.TestService/StreamingOutputCall" >"$out" 2>&1 || rc=$? ;;
	tls-h2) "${h2[@]}" -c "$TLS_H2_CONNS" -m "$TLS_H2_STREAMS" "https://127.0.0.1:${TPORT[$t]}/" >"$out" 2>&1 || rc=$? ;;
	tls-h1)
		timeout -k 5 $((dur + 30)) taskset -c "$LOADGEN_CPU" wrk -t1 -c"$TLS_CONNS" -d"${dur}s" --timeout 5s \
			-s "$ROOT/bench/wrk/stats.lua" "https://127.0.0.1:${TPORT[$t]}/" >"$out" 2>&1 || rc=$?
		local line kv W_requests="" W_duration_us="" W_errors="" W_p50_us="" W_p99_us=""
		line=$(sed -n 's/^WRKSTATS //p' "$out")
		for kv in $line; do printf -v "W_${kv%%=*}" '%s' "${kv#*=}"; done
		[[ $rc == 0 && -n $W_requests ]] || { log "wrk $name failed (exit $rc):"; sed 's/^/    /' "$out" >&2; return 1; }
		L_calls=$W_requests L_secs=$(awk -v d="$W_duration_us" 'BEGIN { print d / 1e6 }') L_errors=$W_errors
		L_p50_us=$W_p50_us L_p99_us=$W_p99_us
		return 0
		;;
	esac
	local fin req
	fin=$(sed -n 's/^finished in \([0-9.]*\)\(m\?s\),.*/\1 \2/p' "$out")
	req=$(sed -n 's/^requests: .* \([0-9]*\) succeeded, \([0-9]*\) failed, \([0-9]*\) errored, \([0-9]*\) timeout.*/\1 \2 \3 \4/p' "$out")
	if [[ $rc != 0 || -z $fin || -z $req ]]; then
		log "h2load $name failed (exit $rc):"
		sed 's/^/    /' "$out" >&2
		return 1
	fi
	read -r L_calls e1 e2 e3 <<<"$req"
	L_errors=$((e1 + e2 + e3))
	L_secs=$(awk -v v="${fin% *}" -v u="${fin#* }" 'BEGIN { print u == "ms" ? v / 1000 : v }')
	read -r L_p50_us L_p99_us < <(cut -f3 "$lat" | sort -n | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print 0, 0; exit }
		i = int(NR * 0.5); if (i < 1) i = 1; j = int(NR * 0.99); if (j < 1) j = 1
		print v[i], v[j] }')
	rm -f "$lat"
}

applies() { # applies SCENARIO TARGET: direct and go-floor have no TLS listener
	[[ $1 == grpc-* || -n ${TPORT[$2]} ]]
}

if ((WARMUP > 0)); then
	for s in $SCENARIOS; do
		for t in "${MEASURE[@]}"; do
			applies "$s" "$t" || continue
			load "$s" "$t" "warmup-$s-$t" "$WARMUP" || STATUS=1
		done
	done
fi

# ---- rounds: every scenario and target interleaved, so drift hits all alike
for ((r = 1; r <= ROUNDS; r++)); do
	for s in $SCENARIOS; do
		for t in "${MEASURE[@]}"; do
			applies "$s" "$t" || continue
			sleep 0.5
			pid=${PID[$t]:-$GUP_PID} # direct: the gRPC server's own CPU
			before=$(cpu_ticks "$pid")
			sys_before=$(syscalls "$pid")
			ups_before=$(($(cpu_ticks "$GUP_PID") + $(cpu_ticks "$HUP_PID")))
			busy_before=$(cpu_busy "$PROXY_CPU")
			t0=$(date +%s%N)
			load "$s" "$t" "$s-$t-$r" || { STATUS=1; continue; }
			ticks=$(($(cpu_ticks "$pid") - before))
			sys=$(($(syscalls "$pid") - sys_before))
			ups=$(($(cpu_ticks "$GUP_PID") + $(cpu_ticks "$HUP_PID") - ups_before))
			busy=$(($(cpu_busy "$PROXY_CPU") - busy_before))
			[[ $t == direct ]] && ups=$((ups - ticks))
			others=$(awk -v b="$busy" -v o=$((ticks + ups)) -v ns=$(($(date +%s%N) - t0)) -v hz="$CLK_TCK" \
				'BEGIN { x = (b - o) / (ns / 1e9 * hz) * 100; printf "%.0f", x < 0 ? 0 : x }')
			printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$s" "$t" "$L_calls" "$L_secs" "$L_errors" \
				"$L_p50_us" "$L_p99_us" "$ticks" "$others" "$sys" >>"$RESULTS"
			log "$(awk -v r="$r" -v s="$s" -v t="$t" -v n="$L_calls" -v d="$L_secs" -v e="$L_errors" -v p50="$L_p50_us" \
				-v p99="$L_p99_us" -v k="$ticks" -v hz="$CLK_TCK" -v o="$others" -v sc="$sys" 'BEGIN {
				n1 = n > 0 ? n : 1
				printf "round %d %-11s %-12s %8.0f calls/s  p50 %.2f ms  p99 %.2f ms  CPU %.1f µs/call  %.2f read+write/call  errors %d  others on CPU: %d%%",
					r, s, t, n / d, p50 / 1000, p99 / 1000, k / hz * 1e6 / n1, sc / n1, e, o }')"
		done
	done
done
for t in "${!PID[@]}"; do [[ -n ${PID[$t]} ]] && stop_pid "${PID[$t]}"; done
stop_pid "$GUP_PID"
stop_pid "$HUP_PID"

echo
echo "Turnout HTTP/2, gRPC and TLS benchmark — $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), $(uname -sr)"
echo "load generator on CPU $LOADGEN_CPU; proxies and upstreams on CPU $PROXY_CPU; $WORKERS worker(s) each;" \
	"$ROUNDS interleaved round(s) of ${DURATION}s, median (min-max) shown"
echo "gRPC: h2load -c$GRPC_CONNS -m$GRPC_STREAMS, h2c both sides, grpc-go interop server; stream = $STREAM_MSGS messages of $STREAM_MSG_BYTES bytes per call"
echo "TLS 1.3, P-256 self-signed: tls-h1 wrk -c$TLS_CONNS, tls-h2 h2load -c$TLS_H2_CONNS -m$TLS_H2_STREAMS; HTTP/1.1 upstream bench/upstream (1 KiB)"
echo "versions: turnout $(git rev-parse --short HEAD 2>/dev/null || echo ?)${TURNOUT_BIN:+ ($TURNOUT_BIN)};" \
	"$(nginx -v 2>&1 | sed 's/nginx version: //'); haproxy $(haproxy -v | awk 'NR==1 { print $3 }'); h2load $(h2load --version | awk '{ print $2 }'); $(go version | awk '{ print $3 }')"
echo "load average: $LOAD_START before, $(cut -d' ' -f1-3 /proc/loadavg) after (others = share of the proxy CPU used by other processes)"
echo
h2_report "$RESULTS" "$CLK_TCK" "$STREAM_MSGS" | tee "$TMP/report.txt"
if [[ $STRICT == 1 ]] && grep -q FAIL "$TMP/report.txt"; then STATUS=1; fi
exit "$STATUS"
