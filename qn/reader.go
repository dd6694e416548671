package qn

import (
	"errors"
	"io"
)

// readerMinBuf is the Reader's first buffer: room for most frames at once.
const readerMinBuf = 4096

// Reader reads frames from a stream, such as a device connection. It reuses
// one buffer, so a Frame it returns (and its fields) is valid only until the
// next call to Next.
//
// The buffer grows with the bytes that actually arrive, never with the length
// a header claims: a 12-byte header announcing 16 MiB costs 4 KiB until the
// payload comes. Its capacity stays below max(4 KiB, 2 × the bytes held).
type Reader struct {
	r          io.Reader
	d          Decoder
	buf        []byte
	start, end int // unread bytes are buf[start:end]
	err        error
}

// NewReader returns a Reader of r with the limits of d.
func NewReader(r io.Reader, d Decoder) *Reader {
	return &Reader{r: r, d: d}
}

// Next returns the next frame. At the end of the stream it returns io.EOF
// between frames and io.ErrUnexpectedEOF inside one. A malformed frame is an
// error of this package (see ErrNotQN, ErrChecksum, ...); the stream cannot be
// resynchronised after one, and every later call returns the same error.
func (r *Reader) Next() (Frame, error) {
	if r.err != nil {
		return Frame{}, r.err
	}
	for {
		f, n, err := r.d.Parse(r.buf[r.start:r.end])
		if err == nil {
			r.start += n
			return f, nil
		}
		if !errors.Is(err, ErrShort) {
			r.err = err
			return Frame{}, err
		}
		if err := r.fill(); err != nil {
			if err == io.EOF && r.start != r.end {
				err = io.ErrUnexpectedEOF
			}
			r.err = err
			return Frame{}, err
		}
	}
}

// fill reads at least one more byte, making room first.
func (r *Reader) fill() error {
	if r.end == len(r.buf) {
		held := r.end - r.start
		if r.start > 0 {
			copy(r.buf, r.buf[r.start:r.end]) // compact: the frames before are done with
		} else { // full of one unfinished frame: double
			nb := make([]byte, max(readerMinBuf, 2*len(r.buf)))
			copy(nb, r.buf[:r.end])
			r.buf = nb
		}
		r.start, r.end = 0, held
	}
	for range 100 { // io.Reader allows (0, nil); do not spin forever on one
		n, err := r.r.Read(r.buf[r.end:])
		r.end += n
		if n > 0 {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return io.ErrNoProgress
}
