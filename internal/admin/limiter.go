package admin

import (
	"sync"
	"time"
)

// Defaults of the failed-authentication limiter: a client IP may fail
// DefaultAuthBurst times in a row, then once per DefaultAuthRefill.
const (
	DefaultAuthBurst  = 20
	DefaultAuthRefill = 3 * time.Second
	// maxAuthClients is how many addresses the limiter remembers before it
	// forgets those whose bucket is full again.
	maxAuthClients = 4096
)

// authLimiter is a token bucket per client IP that only failures drain: a
// bucket holds up to burst failures and regains one every refill. It is
// safe for concurrent use.
type authLimiter struct {
	mu      sync.Mutex
	now     func() time.Time
	burst   float64
	refill  time.Duration
	buckets map[string]*bucket
}

type bucket struct {
	left float64 // failures still allowed
	at   time.Time
}

func newAuthLimiter(now func() time.Time, burst int, refill time.Duration) *authLimiter {
	if now == nil {
		now = time.Now
	}
	if burst <= 0 {
		burst = DefaultAuthBurst
	}
	if refill <= 0 {
		refill = DefaultAuthRefill
	}
	return &authLimiter{now: now, burst: float64(burst), refill: refill, buckets: map[string]*bucket{}}
}

// level refills b up to now and returns it; l.mu is held.
func (l *authLimiter) level(b *bucket, now time.Time) float64 {
	if d := now.Sub(b.at); d > 0 {
		b.left = min(l.burst, b.left+float64(d)/float64(l.refill))
		b.at = now
	}
	return b.left
}

// blocked returns how long ip must wait before its next attempt (0: it may
// try now).
func (l *authLimiter) blocked(ip string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[ip]
	if b == nil {
		return 0
	}
	left := l.level(b, l.now())
	if left >= 1 {
		return 0
	}
	return time.Duration((1 - left) * float64(l.refill))
}

// fail records a failed authentication of ip.
func (l *authLimiter) fail(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.buckets[ip]
	if b == nil {
		if len(l.buckets) >= maxAuthClients {
			l.forgetRecovered(now)
		}
		b = &bucket{left: l.burst, at: now}
		l.buckets[ip] = b
	}
	l.level(b, now)
	b.left = max(0, b.left-1)
}

// forgetRecovered drops the buckets that are full again; l.mu is held.
func (l *authLimiter) forgetRecovered(now time.Time) {
	for ip, b := range l.buckets {
		if l.level(b, now) >= l.burst {
			delete(l.buckets, ip)
		}
	}
}
