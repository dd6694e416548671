package reuseport

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// markerName names the memfd that marks a process as a Turnout.
const markerName = "turnout-listener"

// markerLink is what /proc/PID/fd/N of the marker links to.
const markerLink = "/memfd:" + markerName + " (deleted)"

// Bounds of the scans of /proc (the holder of an address is looked up only
// when a bind fails or at a takeover, so these are generous).
const (
	maxSocketLines = 1 << 22
	maxFDs         = 1 << 22
	scanTime       = 3 * time.Second
)

var (
	selfPID  = os.Getpid()
	markOnce sync.Once
)

// mark creates this process's marker once; it stays open for the life of
// the process (close-on-exec, so children are not marked). Failing to
// create it only makes this process anonymous to others.
func mark() {
	markOnce.Do(func() { _, _ = unix.MemfdCreate(markerName, unix.MFD_CLOEXEC) })
}

// Holders returns the processes listening on addr or on an address that
// overlaps it (the same port on the unspecified address), the ones other
// than this process first; nil when nobody listens. A socket whose process
// cannot be read (another user's) is a Holder with PID 0. It scans /proc for
// at most a few seconds.
func Holders(addr string) ([]Holder, error) {
	want, err := resolve(addr)
	if err != nil {
		return nil, err
	}
	inodes, err := listening(want, 0)
	if err != nil || len(inodes) == 0 {
		return nil, err
	}
	return owners(inodes), nil
}

// alone fails with an *InUseError when another socket listens on ln's
// address beside ln. Where /proc cannot be read it checks nothing (the
// probe bind before ln has already refused the common case).
func alone(ln net.Listener) error {
	own, err := inodeOf(ln)
	if err != nil {
		return err
	}
	want := ln.Addr().(*net.TCPAddr).AddrPort()
	others, err := listening(netip.AddrPortFrom(want.Addr().Unmap(), want.Port()), own)
	if err != nil || len(others) == 0 {
		return nil
	}
	e := &InUseError{Addr: ln.Addr().String(), Err: syscall.EADDRINUSE}
	if hs := owners(others); len(hs) > 0 {
		e.Holder, e.Self = hs[0], hs[0].PID == selfPID
	}
	return e
}

func resolve(addr string) (netip.AddrPort, error) {
	ta, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return netip.AddrPort{}, err
	}
	ap := ta.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

func inodeOf(ln net.Listener) (uint64, error) {
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return 0, errors.New("reuseport: listener without a file descriptor")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, err
	}
	var st unix.Stat_t
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.Fstat(int(fd), &st) }); err != nil {
		return 0, err
	}
	return st.Ino, serr
}

// listening returns the inodes of the TCP sockets in LISTEN state whose
// local address overlaps want, except skip.
func listening(want netip.AddrPort, skip uint64) (map[uint64]bool, error) {
	found := map[uint64]bool{}
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		if err := scanSockets(name, func(local netip.AddrPort, inode uint64) {
			if inode != skip && inode != 0 && overlaps(want, local) {
				found[inode] = true
			}
		}); err != nil {
			return nil, err
		}
	}
	return found, nil
}

// overlaps reports whether a socket bound to b conflicts with one bound to
// a: the same port, and the same address or either one unspecified.
func overlaps(a, b netip.AddrPort) bool {
	if a.Port() != b.Port() {
		return false
	}
	return a.Addr() == b.Addr() || a.Addr().IsUnspecified() || b.Addr().IsUnspecified()
}

// scanSockets calls f for each LISTEN socket of a /proc/net/tcp{,6} file
// (a missing file, such as tcp6 without IPv6, is no socket).
func scanSockets(name string, f func(netip.AddrPort, uint64)) error {
	file, err := os.Open(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	for n := 0; n < maxSocketLines && sc.Scan(); n++ {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || fields[3] != "0A" { // 0A: TCP_LISTEN
			continue
		}
		local, ok := parseHexAddr(fields[1])
		inode, err := strconv.ParseUint(fields[9], 10, 64)
		if ok && err == nil {
			f(local, inode)
		}
	}
	return sc.Err()
}

// parseHexAddr reads /proc/net/tcp's "0100007F:1F90": the address as 32-bit
// words in the host's byte order, printed in hex, then the port in hex.
func parseHexAddr(s string) (netip.AddrPort, bool) {
	ipHex, portHex, ok := strings.Cut(s, ":")
	b, err := hex.DecodeString(ipHex)
	port, perr := strconv.ParseUint(portHex, 16, 16)
	if !ok || err != nil || perr != nil || (len(b) != 4 && len(b) != 16) {
		return netip.AddrPort{}, false
	}
	for i := 0; i < len(b); i += 4 {
		binary.NativeEndian.PutUint32(b[i:], binary.BigEndian.Uint32(b[i:]))
	}
	ip, _ := netip.AddrFromSlice(b)
	return netip.AddrPortFrom(ip.Unmap(), uint16(port)), true
}

// owners finds the processes holding the socket inodes by reading the
// /proc/PID/fd links this user may read, for at most scanTime and maxFDs
// links; sockets left unfound are holders with PID 0. Other processes come
// before this one.
func owners(inodes map[uint64]bool) []Holder {
	var out []Holder
	left := len(inodes)
	deadline, budget := time.Now().Add(scanTime), maxFDs
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		if left == 0 || budget <= 0 || time.Now().After(deadline) {
			break
		}
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		dir := filepath.Join("/proc", p.Name(), "fd")
		fds, _ := os.ReadDir(dir)
		h := Holder{PID: pid}
		holds := 0
		for _, fd := range fds {
			if budget--; budget < 0 {
				break
			}
			link, _ := os.Readlink(filepath.Join(dir, fd.Name()))
			switch {
			case link == markerLink:
				h.Turnout = true
			case strings.HasPrefix(link, "socket:["):
				ino, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]"), 10, 64)
				if inodes[ino] {
					inodes[ino] = false
					holds++
				}
			}
		}
		if holds > 0 {
			comm, _ := os.ReadFile(filepath.Join("/proc", p.Name(), "comm"))
			h.Command = strings.TrimSpace(string(comm))
			out = append(out, h)
			left -= holds
		}
	}
	if left > 0 {
		out = append(out, Holder{})
	}
	slices.SortStableFunc(out, func(a, b Holder) int { return boolInt(a.PID == selfPID) - boolInt(b.PID == selfPID) })
	return out
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
