# bench/lib.sh — helpers shared by bench/run.sh and bench/h2.sh (sourced, not run):
# logging, cleanup of every started process by PID on exit, free ports, CPU
# tick counters from /proc, and installing the Debian packages of missing tools.
# The sourcing script sets TMP (its temp dir, logs in $TMP/logs) and KEEP.
# shellcheck shell=bash

log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------- cleanup
TMP=""
PIDS=()           # every process this script started, stopped by PID on exit
OWN_POLICY_RC=0   # 1 when we wrote /usr/sbin/policy-rc.d and must remove it

descendants() { # PID and all its descendants, parents first
	local p=$1 c
	echo "$p"
	for c in $(pgrep -P "$p" 2>/dev/null || true); do descendants "$c"; done
}

stop_pid() { # stop one started process and its children, by PID
	local pid=$1 all p i
	all=$(descendants "$pid")
	# shellcheck disable=SC2086
	kill -TERM $all 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		local alive=0
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

cleanup() {
	local rc=$? i
	trap - EXIT INT TERM
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[i]}"; done
	if [[ $OWN_POLICY_RC == 1 ]]; then rm -f /usr/sbin/policy-rc.d; fi
	if [[ -n $TMP && -d $TMP ]]; then
		if [[ $KEEP == 1 ]]; then log "kept $TMP"; else rm -rf "$TMP"; fi
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- helpers
secs() { # "10s" | "2m" | "10" -> whole seconds
	local d=$1
	case "$d" in
	*ms) echo 1 ;;
	*s) echo "${d%s}" ;;
	*m) echo $((${d%m} * 60)) ;;
	*h) echo $((${d%h} * 3600)) ;;
	*) echo "$d" ;;
	esac
}

# Ports come from below the kernel's ephemeral range, so that no client
# connection (wrk's, the proxies' upstream connections) holds them.
USED_PORTS=" "
EPHEMERAL_LOW=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
PORT_LOW=10000
((EPHEMERAL_LOW - PORT_LOW >= 2000)) || PORT_LOW=$((EPHEMERAL_LOW > 3024 ? EPHEMERAL_LOW - 2000 : 1024))
free_port() { # free_port VAR: a TCP port no socket on this machine uses, not handed out before
	local p
	while :; do
		p=$((PORT_LOW + RANDOM % (EPHEMERAL_LOW - PORT_LOW)))
		[[ $USED_PORTS == *" $p "* ]] && continue
		[[ -n $(ss -Htan "( sport = :$p or dport = :$p )" 2>/dev/null) ]] && continue
		USED_PORTS+="$p "
		printf -v "$1" '%s' "$p"
		return
	done
}

BG_PID=""
bg() { # bg NAME CMD...: start CMD in the background, output to $TMP/logs/NAME.log
	local name=$1
	shift
	"$@" >"$TMP/logs/$name.log" 2>&1 &
	BG_PID=$!
	PIDS+=("$BG_PID")
}

wait_http() { # wait_http URL PID [SECONDS]: until URL answers 2xx, PID is alive
	local url=$1 pid=$2 limit=${3:-15} start=$SECONDS
	while ((SECONDS - start < limit)); do
		kill -0 "$pid" 2>/dev/null || return 1
		curl -fsS -o /dev/null -m 2 "$url" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

cpu_ticks() { # user+system clock ticks of PID and all its descendants
	local total=0 p line rest
	for p in $(descendants "$1"); do
		line=$(cat "/proc/$p/stat" 2>/dev/null) || continue
		rest=${line##*) }
		# shellcheck disable=SC2086
		set -- $rest # $1 = state (field 3) … $12 = utime (14), $13 = stime (15)
		total=$((total + ${12} + ${13}))
	done
	echo "$total"
}

syscalls() { # read and write system calls (syscr + syscw of /proc/PID/io) of PID and its descendants
	local p
	for p in $(descendants "$1"); do cat "/proc/$p/io" 2>/dev/null || true; done |
		awk '$1 == "syscr:" || $1 == "syscw:" { n += $2 } END { print n + 0 }'
}

cpu_busy() { # busy clock ticks of CPU N so far (user nice system irq softirq steal)
	awk -v c="cpu$1" '$1 == c { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat
}

reaped_ticks() { # user+system ticks of this shell's waited-for children (wrk, via timeout)
	local line rest
	line=$(cat "/proc/$$/stat")
	rest=${line##*) }
	# shellcheck disable=SC2086
	set -- $rest # $14 = cutime (field 16), $15 = cstime (17)
	echo $((${14} + ${15}))
}

proc_kib() { # proc_kib PID FIELD: VmRSS / VmHWM in KiB
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}


# nginx_head DIR: start DIR/nginx.conf with what every benchmark nginx has —
# WORKERS workers, no daemon, files in DIR, no access log, keepalive_requests
# raised (by default nginx closes a client connection, HTTP/2 included, after
# 1,000 requests) — up to the open http block, which the caller continues
# with its upstreams and servers and closes.
nginx_head() {
	local d=$1 user=""
	mkdir -p "$d/tmp"
	chmod 755 "$d"
	chmod 777 "$d/tmp"
	[[ $EUID == 0 ]] && user="user nobody nogroup;"
	cat >"$d/nginx.conf" <<EOF
$user
daemon off;
worker_processes $WORKERS;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $d/tmp/body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
    keepalive_requests 1000000;
EOF
}

# haproxy_head FILE: start FILE with the global and defaults sections every
# benchmark HAProxy has (WORKERS threads, HTTP mode, keep-alive); the caller
# appends its frontends and backends.
haproxy_head() {
	cat >"$1" <<EOF
global
    nbthread $WORKERS
    maxconn 4096

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    option http-keep-alive

EOF
}

# ---------------------------------------------------------------- install
# install_cmds CMD[=PKG]…: apt-get install the Debian packages of the commands
# not on PATH (PKG defaults to CMD), with a temporary policy-rc.d so the
# distro services are not started: we run each binary ourselves with our own
# config on our own ports.
install_cmds() {
	local missing=() cmds=() item cmd
	for item in "$@"; do
		cmd=${item%%=*}
		command -v "$cmd" >/dev/null 2>&1 && continue
		missing+=("${item#*=}")
		cmds+=("$cmd")
	done
	[[ ${#missing[@]} == 0 ]] && return 0
	log "installing ${missing[*]} from Debian packages"
	local sudo=()
	if [[ $EUID != 0 ]]; then
		command -v sudo >/dev/null 2>&1 || die "need root (or sudo) to install ${missing[*]}"
		sudo=(sudo)
	fi
	if [[ ! -e /usr/sbin/policy-rc.d ]]; then
		printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee /usr/sbin/policy-rc.d >/dev/null
		"${sudo[@]}" chmod 755 /usr/sbin/policy-rc.d
		[[ $EUID == 0 ]] && OWN_POLICY_RC=1
	fi
	"${sudo[@]}" apt-get -o DPkg::Lock::Timeout=300 update -qq
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 \
		install -y -qq --no-install-recommends "${missing[@]}" >&2
	if [[ $OWN_POLICY_RC == 1 ]]; then rm -f /usr/sbin/policy-rc.d; OWN_POLICY_RC=0; fi
	for cmd in "${cmds[@]}"; do command -v "$cmd" >/dev/null 2>&1 || die "$cmd did not install"; done
}
