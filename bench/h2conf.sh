# bench/h2conf.sh — the proxies' configurations and the report of bench/h2.sh
# (sourced, not run). Each proxy serves gRPC over h2c on PORT to the interop
# server (GUP, h2c) and HTTPS (TLS 1.3, h2 and http/1.1 by ALPN) on TPORT to
# bench/upstream (HUP, HTTP/1.1 keep-alive). Certificates are in $TMP.
# shellcheck shell=bash

h2_haproxy() { # DIR PORT TPORT
	haproxy_head "$1/haproxy.cfg"
	cat >>"$1/haproxy.cfg" <<EOF
frontend grpc
    bind 127.0.0.1:$2 proto h2
    default_backend grpc

backend grpc
    server g 127.0.0.1:$GUP proto h2

frontend tls
    bind 127.0.0.1:$3 ssl crt $TMP/haproxy.pem alpn h2,http/1.1 ssl-min-ver TLSv1.3
    default_backend web

backend web
    server u 127.0.0.1:$HUP
EOF
}

h2_nginx() { # DIR PORT TPORT
	local d=$1
	nginx_head "$d" # keepalive_requests raised there: by default nginx closes an HTTP/2 connection after 1,000 requests
	cat >>"$d/nginx.conf" <<EOF

    upstream grpc { server 127.0.0.1:$GUP; keepalive 128; keepalive_requests 1000000; }
    upstream web { server 127.0.0.1:$HUP; keepalive 128; keepalive_requests 1000000; }

    server {
        listen 127.0.0.1:$2 http2;
        location / { grpc_pass grpc://grpc; }
    }
    server {
        listen 127.0.0.1:$3 ssl http2;
        ssl_certificate $TMP/cert.pem;
        ssl_certificate_key $TMP/key.pem;
        ssl_protocols TLSv1.3;
        location / {
            proxy_pass http://web;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
}

h2_turnout() { # FILE PORT TPORT ADMINPORT
	cat >"$1" <<EOF
listen: 127.0.0.1:$2
tls: { listen: 127.0.0.1:$3, cert: $TMP/cert.pem, key: $TMP/key.pem, min_version: "1.3" }
admin: { listen: 127.0.0.1:$4 }
state: memory
log: { level: warn }
upstreams:
  grpc: { targets: [http://127.0.0.1:$GUP], protocol: h2c }
  web: { targets: [http://127.0.0.1:$HUP] }
services:
  grpc:
    match: { path_prefix: /grpc.testing.TestService }
    default: v1
    versions: { v1: { upstream: grpc } }
  grpc-unimplemented: # for the interop client's unimplemented_service case
    match: { path_prefix: /grpc.testing.UnimplementedService }
    default: v1
    versions: { v1: { upstream: grpc } }
  web:
    match: { path_prefix: / }
    default: v1
    versions: { v1: { upstream: web } }
EOF
}

# h2_report RESULTS CLK_TCK STREAM_MSGS: one table per scenario (medians and
# min–max over the rounds, ratios against HAProxy and nginx), then Turnout's
# targets. rw/call is read(2)/write(2) calls per call (/proc/PID/io syscr +
# syscw), which counts Go's socket I/O but not recv/send, so it is "-" for
# HAProxy and compares the Go targets only. RESULTS columns: round scenario target calls seconds errors p50_us
# p99_us ticks others% syscalls.
h2_report() {
	awk -F'\t' -v hz="$2" -v msgs="$3" '
	function med(k, f,   n, i, j, a, t) {
		n = cnt[k]; for (i = 1; i <= n; i++) a[i] = val[k, i, f]
		for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
		lo[f] = a[1]; hi[f] = a[n]
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	function rng(f, fmt) { return lo[f] == hi[f] ? "" : sprintf(" (" fmt "-" fmt ")", lo[f], hi[f]) }
	function ratio(a, b) { return b > 0 && a != "" ? sprintf("%.2f×", a / b) : "-" }
	{
		k = $2 SUBSEP $3
		if (!(k in cnt)) { order[++nk] = k; if (!($2 in seen)) { seen[$2] = 1; scen[++ns] = $2 } }
		n = ++cnt[k]
		val[k, n, "rate"] = $4 / $5; val[k, n, "p50"] = $7 / 1000; val[k, n, "p99"] = $8 / 1000
		val[k, n, "cpu"] = $9 / hz * 1e6 / ($4 > 0 ? $4 : 1); val[k, n, "oth"] = $10
		val[k, n, "sys"] = $11 / ($4 > 0 ? $4 : 1)
		err[k] += $6
	}
	END {
		for (i = 1; i <= ns; i++) {
			s = scen[i]; unit = s ~ /^grpc/ ? "calls/s" : "req/s"
			printf "%s%s\n", s, s == "grpc-stream" ? " (" msgs " messages per call)" : ""
			printf "  %-12s %-22s %-9s %-9s %-20s %-9s %-8s %-8s %-8s %-8s %-8s %6s %7s\n", "target", unit, "p50 ms", "p99 ms", "CPU µs/call", \
				"rw/call", "rate×hap", "CPU×hap", "p99×hap", "rate×ngx", "CPU×ngx", "errors", "others%"
			for (j = 1; j <= nk; j++) {
				split(order[j], p, SUBSEP); if (p[1] != s) continue
				R[s, p[2]] = med(order[j], "rate"); P99[s, p[2]] = med(order[j], "p99"); C[s, p[2]] = med(order[j], "cpu")
			}
			for (j = 1; j <= nk; j++) {
				split(order[j], p, SUBSEP); if (p[1] != s) continue
				k = order[j]; t = p[2]
				rate = med(k, "rate"); rr = rng("rate", "%.0f"); P50 = med(k, "p50"); p99 = med(k, "p99")
				cpu = med(k, "cpu"); cr = rng("cpu", "%.1f"); O = med(k, "oth"); sc = med(k, "sys")
				printf "  %-12s %-22s %-9.2f %-9.2f %-20s %-9s %-8s %-8s %-8s %-8s %-8s %6d %7s\n", t, sprintf("%.0f%s", rate, rr), P50, p99, \
					sprintf("%.1f%s", cpu, cr), (sc > 0 ? sprintf("%.2f", sc) : "-"), ratio(rate, R[s, "haproxy"]), ratio(cpu, C[s, "haproxy"]), ratio(p99, P99[s, "haproxy"]), \
					ratio(rate, R[s, "nginx"]), ratio(cpu, C[s, "nginx"]), err[k], O
			}
			print ""
		}
		print "Turnout targets (ratios of medians):"
		target("grpc-unary", "CPU per call", C, "haproxy", "<=", 1.5)
		target("grpc-unary", "calls/s", R, "haproxy", ">=", 0.75)
		target("grpc-unary", "p99 latency", P99, "haproxy", "<=", 1.5)
		target("grpc-stream", "messages/s", R, "haproxy", ">=", 0.75)
		target("tls-h1", "CPU per request", C, "nginx", "<=", 1.5)
		target("tls-h2", "CPU per request", C, "nginx", "<=", 1.5)
	}
	function target(s, what, M, ref, op, bar,   a, b, ok) {
		a = M[s, "turnout"]; b = M[s, ref]
		if (a == "" || b == "" || b == 0) { printf "  %-12s %-16s %s %.2f× %-8s  -  (not measured)\n", s, what, op, bar, ref; return }
		ok = op == "<=" ? a / b <= bar : a / b >= bar
		printf "  %-12s %-16s %s %.2f× %-8s %6.2f×  %s\n", s, what, op, bar, ref, a / b, ok ? "PASS" : "FAIL"
	}' "$1"
}
