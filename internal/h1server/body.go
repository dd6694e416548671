package h1server

import (
	"bufio"
	"io"
	"net/http"
	"sync"
)

// maxDrain is how much of an unread request body the server reads and
// discards after the handler to keep the connection (net/http's figure).
const maxDrain = 256 << 10

// maxChunkLine bounds a chunk-size line with its extensions.
const maxChunkLine = 4096

// body is a request body framed by Content-Length or chunked encoding,
// read from the connection's buffered reader. Its methods are safe for
// concurrent use: a transport may read or close it from another goroutine,
// even after the handler returned; once the server has finished the
// request (finish), reads fail with http.ErrBodyReadAfterClose.
type body struct {
	mu       sync.Mutex
	br       *bufio.Reader
	req      *http.Request // for trailers
	w        *response     // sends 100 Continue on the first read when set
	remain   int64         // Content-Length bytes left, or the current chunk's
	chunked  bool
	inChunk  bool // remain is within a chunk whose CRLF follows
	eof      bool
	closed   bool
	err      error // sticky read error
	budget   int   // trailer section bytes allowed
	line     []byte
	finished bool
	reusable bool // finish's result
}

// Read reads the body; the first read of a request that expects 100
// Continue sends it.
func (b *body) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	return b.read(p)
}

func (b *body) read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.eof {
		return 0, io.EOF
	}
	if b.w != nil {
		b.w.sendContinue()
		b.w = nil
	}
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var err error
	if b.chunked {
		n, err = b.readChunked(p)
	} else {
		if int64(len(p)) > b.remain {
			p = p[:b.remain]
		}
		n, err = b.br.Read(p)
		b.remain -= int64(n)
		if b.remain == 0 {
			b.eof = true
			err = nil
		} else if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
	}
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

func (b *body) readChunked(p []byte) (int, error) {
	if b.remain == 0 {
		if b.inChunk {
			if err := b.crlf(); err != nil {
				return 0, err
			}
			b.inChunk = false
		}
		size, err := b.chunkSize()
		if err != nil {
			return 0, err
		}
		if size == 0 {
			if err := b.readTrailer(); err != nil {
				return 0, err
			}
			b.eof = true
			return 0, io.EOF
		}
		b.remain, b.inChunk = size, true
	}
	if int64(len(p)) > b.remain {
		p = p[:b.remain]
	}
	n, err := b.br.Read(p)
	b.remain -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// crlf reads the CRLF that ends a chunk's data.
func (b *body) crlf() error {
	c1, err := b.br.ReadByte()
	if err != nil {
		return unexpected(err)
	}
	c2, err := b.br.ReadByte()
	if err != nil {
		return unexpected(err)
	}
	if c1 != '\r' || c2 != '\n' {
		return badRequest("malformed chunked encoding")
	}
	return nil
}

// chunkSize reads a chunk-size line: hex digits, then optional chunk
// extensions without control characters.
func (b *body) chunkSize() (int64, error) {
	line, err := b.readLine(maxChunkLine)
	if err != nil {
		return 0, err
	}
	return parseChunkSize(line)
}

// parseChunkSize parses a chunk-size line without its CRLF.
func parseChunkSize(line []byte) (int64, error) {
	var size int64
	i := 0
	for ; i < len(line); i++ {
		d := unhex(line[i])
		if d < 0 {
			break
		}
		if i >= 15 {
			return 0, badRequest("chunk size too large")
		}
		size = size<<4 | int64(d)
	}
	if i == 0 {
		return 0, badRequest("malformed chunk size")
	}
	if i < len(line) && (line[i] != ';' || !validValue(line[i+1:])) {
		return 0, badRequest("malformed chunk size")
	}
	return size, nil
}

// readLine reads one line of at most max bytes (without its CRLF).
func (b *body) readLine(max int) ([]byte, error) {
	b.line = b.line[:0]
	for {
		frag, err := b.br.ReadSlice('\n')
		if len(b.line)+len(frag) > max {
			return nil, badRequest("chunked encoding line too long")
		}
		b.line = append(b.line, frag...)
		if err == nil {
			break
		}
		if err != bufio.ErrBufferFull {
			return nil, unexpected(err)
		}
	}
	return trimCRLF(b.line)
}

// readTrailer reads the trailer section after the last chunk into
// req.Trailer, with the same checks as headers.
func (b *body) readTrailer() error {
	for {
		line, err := b.readLine(maxChunkLine)
		if err != nil {
			return err
		}
		if len(line) == 0 {
			return nil
		}
		if b.budget -= len(line); b.budget < 0 {
			return badRequest("trailer section too large")
		}
		colon := -1
		for i, c := range line {
			if c == ':' {
				colon = i
				break
			}
		}
		if colon <= 0 || line[0] == ' ' || line[0] == '\t' || !canonicalize(line[:colon]) {
			return badRequest("malformed trailer")
		}
		v := trimOWS(line[colon+1:])
		if !validValue(v) {
			return badRequest("malformed trailer")
		}
		k := string(line[:colon])
		switch k {
		case "Content-Length", "Transfer-Encoding", "Host", "Trailer":
			continue
		}
		if b.req.Trailer == nil {
			b.req.Trailer = make(http.Header)
		}
		b.req.Trailer[k] = append(b.req.Trailer[k], string(v))
	}
}

// Close stops the handler's (and transports') reading; the server reads
// what is left, within limits, when it finishes the request.
func (b *body) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	return nil
}

// finish is the server's end of the request: it reads and discards up to
// maxDrain of what is left and reports whether the connection can carry
// another request. From then on the body is closed to everyone.
func (b *body) finish() (reusable bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.finished {
		b.closed, b.finished = true, true
		b.reusable = b.drain()
	}
	return b.reusable
}

// abandon ends the body without reading what is left of it, for an answer
// that closes the connection anyway. From then on it is closed to everyone.
func (b *body) abandon() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.finished {
		b.closed, b.finished = true, true
		b.reusable = b.eof
	}
}

// status is the refusal a framing error in the body calls for, if any.
func (b *body) status() *statusError {
	b.mu.Lock()
	defer b.mu.Unlock()
	se, _ := b.err.(*statusError)
	return se
}

func (b *body) drain() bool {
	if b.eof {
		return true
	}
	if b.err != nil || b.w != nil { // broken, or 100 Continue never sent
		return false
	}
	left := int64(maxDrain)
	for !b.eof {
		if b.remain == 0 { // between chunks
			if _, err := b.readChunked(nil); err != nil && err != io.EOF {
				b.err = err
				return false
			}
			continue
		}
		if b.remain > left {
			return false
		}
		m, err := b.br.Discard(int(b.remain))
		b.remain -= int64(m)
		left -= int64(m)
		if err != nil {
			b.err = unexpected(err)
			return false
		}
		if !b.chunked {
			b.eof = true
		}
	}
	return true
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}
