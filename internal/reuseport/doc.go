// Package reuseport owns how Turnout binds its TCP listeners (data plane,
// TLS, admin, QN and xDS) and how it finds out who else holds one of their
// addresses.
//
// Every listener is bound with SO_REUSEPORT on Linux, so that a new Turnout
// started with `turnout serve --takeover` (an upgrade or a restart) can bind
// the same addresses while the old one still holds them and drains; the
// kernel spreads new connections over every socket bound to an address, and
// once the old process closes its listener all of them reach the new one.
//
// SO_REUSEPORT alone would also let a forgotten second `turnout serve` share
// the addresses silently, so Listen is exclusive: it first binds addr with a
// plain socket (no SO_REUSEPORT), which the kernel refuses while any
// process listens there, closes it, binds the real SO_REUSEPORT listener,
// and then looks in /proc/net/tcp{,6} for any other socket listening on the
// same address (two Turnouts that passed the probe at the same instant: both
// are refused rather than both serving). ListenBeside, for --takeover,
// skips both checks.
//
// An address in use is an *InUseError naming the holder: the socket's inode
// is looked up in /proc/net/tcp{,6} and then in /proc/PID/fd of every
// process this user may read (another user's process stays anonymous). A
// process is a Turnout when it holds the marker that the first Listen or
// ListenBeside of a process creates: a memfd named "turnout-listener"
// (/proc/PID/fd/N links to "/memfd:turnout-listener (deleted)"), which
// survives renamed binaries and leaves no file behind.
//
// Elsewhere than Linux, Listen is net.Listen (a second process on the same
// address fails with "address in use", holder unknown) and ListenBeside
// fails with ErrUnsupported.
package reuseport
