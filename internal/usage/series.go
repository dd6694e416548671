package usage

// series is a sparse ring of counts: the non-empty buckets of the last
// keep units (minutes of a version, hours of a client), oldest first. It
// holds at most keep buckets, so a version that is called every minute of
// the day holds RingMinutes of them and one called once holds one. Its
// owner guards it.
type series []bucket

// bucket counts the requests of one unit (unix minutes or hours).
type bucket struct {
	at int32
	n  uint32
}

// add counts one request in unit at. A clock that stepped back counts in
// the latest bucket.
func (s *series) add(at, keep int64) {
	l := *s
	if k := len(l); k > 0 && int64(l[k-1].at) >= at {
		l[k-1].n++
		return
	}
	s.set(at, 1, keep)
}

// set appends a bucket after the latest (at must be later), first
// dropping the buckets older than keep units before at.
func (s *series) set(at int64, n uint32, keep int64) {
	l := *s
	i := 0
	for i < len(l) && int64(l[i].at) <= at-keep {
		i++
	}
	if i > 0 {
		l = l[:copy(l, l[i:])]
	}
	*s = append(l, bucket{at: int32(at), n: n})
}

// sum counts the requests of units from to to, both included.
func (s series) sum(from, to int64) uint64 {
	var n uint64
	for _, b := range s {
		if at := int64(b.at); at >= from && at <= to {
			n += uint64(b.n)
		}
	}
	return n
}

// spread returns the requests of each of count units of width units of s
// (60 minutes an hour), the first starting at unit first.
func (s series) spread(first, width int64, count int) []uint64 {
	out := make([]uint64, count)
	for _, b := range s {
		if at := int64(b.at); at >= first {
			if i := (at - first) / width; i < int64(count) {
				out[i] += uint64(b.n)
			}
		}
	}
	return out
}
