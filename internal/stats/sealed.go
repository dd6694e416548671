package stats

import "sync/atomic"

// Sealed records: the ten-second history of a series.
//
// When a second leaves the fine ring, the ten-second interval it belongs to
// is folded from the ring into a sealed record, unless an earlier second of
// the same interval left first and sealed it. A sealed record is written
// once and then only read, so it is stored compactly, in 32-bit words:
//
//	count, errors, latency range lower bound, upper bound (float32 bits),
//	then one 16-bit entry per histogram index seen (record.go)
//
// — 16 bytes plus 2 per latency bucket that saw traffic (4 when it saw
// 1,022 samples or more, 6 from 65,536), rounded up to whole words, where
// a ring bucket needs room for every latency bucket.
//
// The records live in one circular buffer of words per series (sealStore),
// located by a table of 90 slots, one per ten-second interval of a
// 15-minute ring. A new record goes at the buffer's head, over the oldest
// records, which by then lie before the oldest interval any query reads
// (the horizon). When a record still needed is in the way, the store is
// rebuilt with room for the live records plus a quarter, and the live
// records are copied over; when the live records fill less than a quarter
// of the buffer, it is rebuilt smaller. Either allocates, so a series' store settles
// at a size that fits its traffic and then stops allocating.
//
// Only the Record holding the series' mutex writes a store. Queries read it
// without a lock, seqlock style: a slot is read before and after copying
// the record's words, and the writer empties a slot before it writes over
// the slot's words, so a copy that raced with a write is detected and
// dropped. A rebuilt store is published whole by an atomic pointer swap;
// the old one is never written again.

const (
	recHeader = 4
	// recMax bounds a record's length: every index with a 32-bit count,
	// three 16-bit halves each.
	recMax = recHeader + (3*nHist+1)/2

	minStoreWords = 64
	// maxStoreWords bounds a store: 90 records of recMax words with the
	// rebuild's slack, so an offset fits the slot's 16 bits.
	maxStoreWords = 1<<16 - 1
)

// A slot packs a record's interval, offset and length into one word, so a
// query reads all three at once: the interval number (start/10) modulo
// 2^32 in the high half, the offset in words in bits 16..31 and the length
// in the low 16 bits. A length of 0 means the slot is empty.
func slotWord(start int64, off, n int) uint64 {
	return uint64(intervalTag(start))<<32 | uint64(off)<<16 | uint64(n)
}

func intervalTag(start int64) uint32 { return uint32(floorDiv(start, coarseRes)) }

func slotLoc(w uint64) (off, n int) { return int(uint16(w >> 16)), int(uint16(w)) }

// sealStore holds a series' sealed records; see above.
type sealStore struct {
	slots [coarseSlots]atomic.Uint64 // see slotWord
	words []atomic.Uint32
	head  int // where the next record goes; only the writer uses it
}

func sealIndex(start int64) int { return int(mod(floorDiv(start, coarseRes), coarseSlots)) }

// horizon returns the start of the oldest interval a query at second now
// reads: 15 minutes back, in ten-second intervals.
func horizon(now int64) int64 { return (floorDiv(now, coarseRes) - (coarseSlots - 1)) * coarseRes }

// holds reports whether slot word w holds the record of the interval
// starting at start.
func holds(w uint64, start int64) bool {
	return uint16(w) != 0 && uint32(w>>32) == intervalTag(start)
}

// live reports whether slot word w holds a record at or after horizon hz.
func live(w uint64, hz int64) bool {
	return uint16(w) != 0 && int32(uint32(w>>32)-intervalTag(hz)) >= 0
}

// seal stores the record of the interval starting at start (Unix seconds),
// folded from its seconds in the fine ring, unless it is stored already or
// lies before the horizon of second now. s.mu is held.
func (s *Series) seal(start, now int64) {
	hz := horizon(now)
	if start < hz {
		return
	}
	st := s.sealed.Load()
	if st != nil && holds(st.slots[sealIndex(start)].Load(), start) {
		return // sealed already
	}
	a := newAgg()
	s.mergeFine(&a, start, start+coarseRes-1)
	if a.requests == 0 {
		return
	}
	var buf [recMax]uint32
	s.store(st, start, hz, encodeRecord(&a, buf[:]))
}

// store writes rec as the record of the interval starting at start; records
// before horizon hz are not read any more. st is the current store, nil if
// none yet. s.mu is held.
func (s *Series) store(st *sealStore, start, hz int64, rec []uint32) {
	n := len(rec)
	if st == nil {
		st = s.rebuild(nil, hz, 8*n)
	}
	// What the slot holds is 15 minutes older (or more): before hz.
	st.slots[sealIndex(start)].Store(0)
	need := st.liveWords(hz) + n
	if 4*need < len(st.words) && len(st.words) > minStoreWords {
		st = s.rebuild(st, hz, need) // shrink
	}
	off := st.head
	if off+n > len(st.words) {
		off = 0 // wrap around
	}
	if !st.clear(off, n, hz) {
		st = s.rebuild(st, hz, need)
		off = st.head
	}
	for i, w := range rec {
		st.words[off+i].Store(w)
	}
	st.slots[sealIndex(start)].Store(slotWord(start, off, n))
	st.head = off + n
}

// liveWords is the length of the records at or after horizon hz.
func (st *sealStore) liveWords(hz int64) int {
	total := 0
	for i := range st.slots {
		if w := st.slots[i].Load(); live(w, hz) {
			_, n := slotLoc(w)
			total += n
		}
	}
	return total
}

// clear empties the slots whose records overlap words [off, off+n), so the
// words can be written. It returns false, leaving the live records alone,
// if the words do not fit or a record in the way is at or after horizon hz.
func (st *sealStore) clear(off, n int, hz int64) bool {
	if off+n > len(st.words) {
		return false
	}
	for i := range st.slots {
		w := st.slots[i].Load()
		o, l := slotLoc(w)
		if l == 0 || o >= off+n || off >= o+l {
			continue
		}
		if live(w, hz) {
			return false
		}
		st.slots[i].Store(0)
	}
	return true
}

// rebuild publishes a new store with room for need words plus a quarter
// (at least minStoreWords), holding st's records at or after horizon hz,
// oldest first, with its head after them, and returns it. st may be nil.
// s.mu is held.
func (s *Series) rebuild(st *sealStore, hz int64, need int) *sealStore {
	next := &sealStore{words: make([]atomic.Uint32, min(max(minStoreWords, need+need/4), maxStoreWords))}
	off := 0
	for t := hz; st != nil && t < hz+coarseSlots*coarseRes; t += coarseRes {
		w := st.slots[sealIndex(t)].Load()
		if !holds(w, t) {
			continue
		}
		o, l := slotLoc(w)
		for i := range l {
			next.words[off+i].Store(st.words[o+i].Load())
		}
		next.slots[sealIndex(t)].Store(slotWord(t, off, l))
		off += l
	}
	next.head = off
	s.sealed.Store(next)
	return next
}

// mergeSealed adds the sealed record of the interval starting at start to a
// and reports whether there is one.
func (s *Series) mergeSealed(a *agg, start int64) bool {
	st := s.sealed.Load()
	if st == nil {
		return false
	}
	slot := &st.slots[sealIndex(start)]
	w := slot.Load()
	off, n := slotLoc(w)
	if !holds(w, start) || n < recHeader || n > recMax || off+n > len(st.words) {
		return false
	}
	var buf [recMax]uint32
	rec := buf[:n]
	for i := range rec {
		rec[i] = st.words[off+i].Load()
	}
	if slot.Load() != w {
		return false // rewritten meanwhile: the interval is past the horizon
	}
	a.requests += int64(rec[0])
	a.errors += int64(rec[1])
	a.min, a.max = min(a.min, spanNs(rec[2])), max(a.max, spanNs(rec[3]))
	addEntries(a, rec[recHeader:])
	return true
}
