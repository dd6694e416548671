// Package rawconn owns the system calls of the data plane's plain TCP
// connections on Linux: Wrap returns a connection whose Read and Write
// call read(2) and write(2) on the non-blocking socket directly, as raw
// system calls, and wait in the runtime's network poller as net.Conn does
// when the socket is not ready. Deadlines, Close and the poller's wakeups
// work as they do for the wrapped connection (it goes through
// syscall.RawConn).
//
// Why: a net.Conn's Read and Write tell the scheduler that the goroutine
// is entering a system call that may block. When the call takes longer
// than ~20 µs — a loopback write that wakes the peer, on a CPU the peer
// shares, does — the runtime's monitor thread takes the processor away
// and hands it to another thread, and keeps waking every 20 µs to check
// again. On a busy proxy those handoffs and wakeups cost more CPU than
// the proxy's own code. On a non-blocking socket read(2) and write(2)
// never wait (they return EAGAIN instead), so nothing needs handing off;
// a write is capped at 64 KiB per call so the processor is held for a
// bounded time.
//
// Elsewhere (other systems, anything but *net.TCPConn, and builds with
// the race detector, which cannot follow raw system calls) Wrap returns
// the connection unchanged; scripts/test.sh runs this package's tests and
// the end-to-end ones without -race too, so the raw path is tested.
package rawconn
