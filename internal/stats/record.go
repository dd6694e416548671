package stats

// The histogram of a sealed record: one 16-bit entry per histogram index
// that saw traffic, two to a word, the first in the low half. An entry is
// (index+1)<<recCodeBits | code: a code below recWide is the count itself;
// recWide says the count follows in the next half, recWider in the next
// two (low half first). A zero half pads the record to whole words. Most
// ten-second intervals count fewer than 1,022 samples per latency bucket,
// so an index costs 2 bytes, where a 32-bit entry costs 4.
const (
	recCodeBits = 10
	recCodeMask = 1<<recCodeBits - 1
	recWide     = recCodeMask - 1
	recWider    = recCodeMask
)

// encodeRecord writes a's record to buf, which has room for recMax words,
// and returns it. Counts are capped at 2^32-1, like the header's.
func encodeRecord(a *agg, buf []uint32) []uint32 {
	rec := buf[:recHeader]
	rec[0] = uint32(min(a.requests, 1<<32-1))
	rec[1] = uint32(min(a.errors, 1<<32-1))
	lo, _ := spanBits(a.min)
	_, hi := spanBits(a.max)
	rec[2], rec[3] = lo, hi
	var halves [3 * nHist]uint16
	h := halves[:0]
	for i, c := range a.hist {
		tag := uint16(i+1) << recCodeBits
		switch c = min(c, 1<<32-1); {
		case c == 0:
		case c < recWide:
			h = append(h, tag|uint16(c))
		case c <= 1<<16-1:
			h = append(h, tag|recWide, uint16(c))
		default:
			h = append(h, tag|recWider, uint16(c), uint16(c>>16))
		}
	}
	for j := 0; j < len(h); j += 2 {
		w := uint32(h[j])
		if j+1 < len(h) {
			w |= uint32(h[j+1]) << 16
		}
		rec = append(rec, w)
	}
	return rec
}

// addEntries adds the histogram entries of a sealed record, its words after
// the header, to a.
func addEntries(a *agg, words []uint32) {
	n := 2 * len(words)
	half := func(j int) uint64 { return uint64(words[j/2] >> (16 * (j % 2)) & 0xffff) }
	for j := 0; j < n; j++ {
		e := half(j)
		i, c := int(e>>recCodeBits)-1, e&recCodeMask
		switch {
		case c == recWide && j+1 < n:
			c = half(j + 1)
			j++
		case c == recWider && j+2 < n:
			c = half(j+1) | half(j+2)<<16
			j += 2
		case c >= recWide:
			return // cut short: not a record this package wrote
		}
		if i >= 0 && i < nHist {
			a.hist[i] += c
		}
	}
}
