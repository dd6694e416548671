// Command h2floor is the least a Go proxy built on net/http can do for a
// gRPC call: an h2c server whose handler is a bare httputil.ReverseProxy
// to one h2c upstream through net/http's HTTP/2 client, with no routing,
// no metrics and no limits. bench/h2.sh runs it as the go-floor target, so
// that Turnout's CPU per call can be split into what net/http's HTTP/2
// server and client cost and what Turnout adds.
package main

import (
	"flag"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "h2c address to serve")
	upstream := flag.String("upstream", "", "h2c upstream, http://host:port")
	flag.Parse()
	target, err := url.Parse(*upstream)
	if err != nil || target.Host == "" {
		log.Fatalf("h2floor: -upstream %q: want http://host:port", *upstream)
	}
	var h2c http.Protocols
	h2c.SetUnencryptedHTTP2(true)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = &http.Transport{Protocols: &h2c, MaxIdleConnsPerHost: 64}
	srv := &http.Server{Addr: *listen, Handler: rp, Protocols: &h2c}
	log.Fatal(srv.ListenAndServe())
}
