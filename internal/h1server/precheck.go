package h1server

import "bytes"

// maxPrecheckChunks bounds the chunks precheckChunks walks.
const maxPrecheckChunks = 1024

// precheckChunks walks the framing of a chunked body as far as buf, the
// bytes already buffered after the head, holds it, without consuming
// anything, and returns the framing error reading the body would meet
// there (a *statusError), or nil when none shows in buf. A small body
// usually arrives with its head: its bad framing is then refused with 400
// before the handler runs, so that no upstream ever sees a head whose body
// turns out broken. What is not yet buffered is checked as it is read.
func precheckChunks(buf []byte) error {
	err := walkChunks(buf)
	if se, ok := err.(*statusError); ok {
		se.reason = ReasonFraming // a broken body: counted as framing, like CL/TE
	}
	return err
}

// walkChunks is precheckChunks' walk.
func walkChunks(buf []byte) error {
	for range maxPrecheckChunks {
		nl := bytes.IndexByte(buf, '\n')
		if nl < 0 || nl+1 > maxChunkLine {
			if len(buf) > maxChunkLine {
				return badRequest("chunked encoding line too long")
			}
			return nil
		}
		line, err := trimCRLF(buf[:nl+1])
		if err != nil {
			return err
		}
		size, err := parseChunkSize(line)
		if err != nil {
			return err
		}
		buf = buf[nl+1:]
		if size == 0 || int64(len(buf)) < size+2 {
			return nil // the trailers, or a chunk not in yet, are checked as read
		}
		if buf[size] != '\r' || buf[size+1] != '\n' {
			return badRequest("malformed chunked encoding")
		}
		buf = buf[size+2:]
	}
	return nil
}
