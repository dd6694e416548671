package framing

import (
	"strings"
	"testing"
)

// cases are whole connection inputs and the reason the guard refuses them
// ("" for none).
var cases = []struct {
	name, in, want string
}{
	{"get", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", ""},
	{"two gets", "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n", ""},
	{"content-length body", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: a\r\n\r\n", ""},
	{"body that looks like a request", "POST / HTTP/1.1\r\nContent-Length: 40\r\n\r\nGET / HTTP/1.1\r\nTransfer-Encoding: x\r\n\r\n", ""},
	{"chunked", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\nhello\r\n0\r\nT: 1\r\n\r\nGET / HTTP/1.1\r\n\r\n", ""},
	{"chunked upper case", "POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n", ""},
	{"same content-length twice", "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", ""},
	{"leading empty line", "\r\nGET / HTTP/1.1\r\n\r\n", ""},
	{"h2c preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04\x00\n\n\n", ""},
	{"upgrade stops following", "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello\n\n", ""},
	{"http/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\n", ""},

	{"cl and te", "POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", ReasonCLAndTE},
	{"te and cl", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n", ReasonCLAndTE},
	{"cl and te lower case", "POST / HTTP/1.1\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n", ReasonCLAndTE},
	{"differing content-length", "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", ReasonCLConflict},
	{"content-length list", "POST / HTTP/1.1\r\nContent-Length: 3, 4\r\n\r\n", ReasonCLInvalid},
	{"content-length sign", "POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\n", ReasonCLInvalid},
	{"content-length empty", "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", ReasonCLInvalid},
	{"te identity", "POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n", ReasonTE},
	{"te list", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n", ReasonTE},
	{"te gzip chunked", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", ReasonTE},
	{"te twice", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", ReasonTE},
	{"te xchunked", "POST / HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n", ReasonTE},
	{"te vertical tab", "POST / HTTP/1.1\r\nTransfer-Encoding: \vchunked\r\n\r\n", ReasonTE},
	{"te space before colon", "POST / HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n", ReasonSpaceBefore},
	{"te folded", "POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n chunked\r\n\r\n", ReasonFolded},
	{"te on http/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", ReasonTEOnHTTP10},
	{"bare lf", "GET / HTTP/1.1\nHost: a\n\n", ReasonBareLF},
	{"bare lf in header", "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\nContent-Length: 3\r\n\r\n", ReasonBareLF},
	{"smuggled after a body", "POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nokPOST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", ReasonCLAndTE},
	{"smuggled after chunks", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\nGET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", ReasonCLConflict},
	{"bad chunk size", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\n", ReasonChunk},
	{"chunk without crlf", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokX\r\n", ReasonChunk},
	{"huge chunk size", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n11111111111111111\r\n", ReasonChunk},
	{"long content-length line", "POST / HTTP/1.1\r\nContent-Length: " + strings.Repeat("0", 9000) + "\r\n\r\n", ReasonLongLine},
}

func TestFeed(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var s scanner
			if got := s.feed([]byte(c.in)); got != c.want {
				t.Errorf("whole: %q, want %q", got, c.want)
			}
			var b scanner
			got := ""
			for i := 0; i < len(c.in) && got == ""; i++ {
				got = b.feed([]byte{c.in[i]})
			}
			if got != c.want {
				t.Errorf("byte by byte: %q, want %q", got, c.want)
			}
		})
	}
}

// FuzzFeed: any input split anywhere is judged as when fed whole, without
// panicking.
func FuzzFeed(f *testing.F) {
	for _, c := range cases {
		f.Add(c.in, uint16(len(c.in)/2))
	}
	f.Fuzz(func(t *testing.T, in string, split uint16) {
		var whole scanner
		want := whole.feed([]byte(in))
		at := int(split) % (len(in) + 1)
		var parts scanner
		got := parts.feed([]byte(in[:at]))
		if got == "" {
			got = parts.feed([]byte(in[at:]))
		}
		if got != want {
			t.Fatalf("split at %d: %q, whole: %q", at, got, want)
		}
	})
}

// BenchmarkFeed follows one keep-alive request of browser-like size per
// iteration.
func BenchmarkFeed(b *testing.B) {
	req := []byte("GET /users/1?page=2 HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/120.0\r\n" +
		"Accept: application/json\r\nAccept-Language: en-GB,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\nCookie: session=0123456789abcdef; theme=dark\r\n" +
		"X-User-ID: u-12345\r\nConnection: keep-alive\r\n\r\n")
	var s scanner
	b.SetBytes(int64(len(req)))
	b.ReportAllocs()
	for b.Loop() {
		if r := s.feed(req); r != "" {
			b.Fatal(r)
		}
	}
}
