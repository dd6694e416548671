package qnproxy

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"net"
	"reflect"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/route"
	"github.com/turnout-gw/turnout/internal/testutil/testclock"
	"github.com/turnout-gw/turnout/qn"
)

func twoVersions(v1, v2 *server, extra string) string {
	return yamlf(`
upstreams:
  dev-v1: { targets: [%s] }
  dev-v2: { targets: [%s] }
services:
  dev:
    protocol: qn
    listen: 127.0.0.1:0
    default: v1
    versions:
      v1: { upstream: dev-v1, speaks: v1 }
      v2: { upstream: dev-v2, speaks: v2 %s }
`, v1.addr(), v2.addr(), extra)
}

func TestDevicesRoutedByVersion(t *testing.T) {
	v1, v2 := newServer(t, "server-v1", qn.V1), newServer(t, "server-v2", qn.V2)
	f := newFixture(t, twoVersions(v1, v2, ""), nil)
	for i := range 5 {
		d1 := dialDevice(t, f.addr("dev"), qn.V1, fmt.Sprintf("old-%d", i))
		d2 := dialDevice(t, f.addr("dev"), qn.V2, fmt.Sprintf("new-%d", i))
		for range 3 {
			if got, typ := d1.roundTrip(); got != "server-v1" || typ != qn.TypeAck {
				t.Fatalf("v1 device answered by %q (%v)", got, typ)
			}
			if got, typ := d2.roundTrip(); got != "server-v2" || typ != qn.TypeAck {
				t.Fatalf("v2 device answered by %q (%v)", got, typ)
			}
		}
	}
	st := f.m.Stats("dev")
	if st["v1"].Connections != 5 || st["v2"].Connections != 5 || st["v1"].Acks != 15 || st["v2"].Data != 15 {
		t.Fatalf("stats %+v", st)
	}
	w := f.stats.VersionWindow("dev", "v2", 10*time.Second, time.Time{})
	if w.Requests != 15 || w.Errors != 0 {
		t.Fatalf("v2 window %+v, want 15 requests without errors", w)
	}
}

const rolloutExtra = `, translate: true }
    rollout: { from: v1, to: v2, weight: 20`

// TestStickyRollout: at weight 20 a translating v2 takes 20 % ± 2 of 2,000
// v1 devices, by device_id, and a device lands on the same version on
// every connection.
func TestStickyRollout(t *testing.T) {
	v1, v2 := newServer(t, "server-v1", qn.V1), newServer(t, "server-v2", qn.V2)
	f := newFixture(t, twoVersions(v1, v2, rolloutExtra), nil)
	svc := f.tab.Load().Service("dev")
	onV2 := 0
	for i := range 2000 {
		id := fmt.Sprintf("device-%04d", i)
		v, reason := Pick(svc, qn.V1, DeviceBucket(svc, id, uint64(i)*7919))
		if reason != route.ReasonRollout {
			t.Fatalf("reason %q", reason)
		}
		if v.Name == "v2" {
			onV2++
		}
		// The same device with another random source: same answer.
		if w, _ := Pick(svc, qn.V1, DeviceBucket(svc, id, uint64(i)*104729+1)); w != v {
			t.Fatalf("device %s not sticky", id)
		}
	}
	if share := float64(onV2) / 2000; math.Abs(share-0.20) > 0.02 {
		t.Fatalf("%.1f%% of devices on v2 at weight 20", 100*share)
	}
	// v2 devices have one candidate: v2.
	if v, _ := Pick(svc, qn.V2, 0); v.Name != "v2" {
		t.Fatalf("v2 device picked %s", v.Name)
	}

	// Real connections: 100 devices, each connecting three times.
	for i := range 100 {
		id := fmt.Sprintf("device-%04d", i)
		want, _ := Pick(svc, qn.V1, DeviceBucket(svc, id, 0))
		for range 3 {
			d := dialDevice(t, f.addr("dev"), qn.V1, id)
			got, _ := d.roundTrip()
			if got != "server-"+want.Name {
				t.Fatalf("device %s answered by %s, want %s", id, got, want.Name)
			}
			_ = d.c.Close()
		}
	}
}

// TestTranslation: v1 devices served by a v2-only server. Every field the
// device sends reaches the server as (0, id, 1) with the same value; the
// server's answer reaches the device in v1 with what v1 can carry, and the
// rest is counted.
func TestTranslation(t *testing.T) {
	v2 := newServer(t, "server-v2", qn.V2)
	v2.reply = []qn.Field{
		{NS: 0, ID: 5, Ver: 1, Value: []byte{0, 200}},               // status: kept
		{NS: 1, ID: 9, Ver: 1, Value: []byte("sig")},                // namespace 1: dropped
		{NS: 0, ID: 4, Ver: 2, Value: []byte("new body")},           // fver 2: dropped
		{NS: 0, ID: 4, Ver: 1, Value: bytes.Repeat([]byte{7}, 300)}, // too long for v1: dropped
	}
	f := newFixture(t, translatingV2(v2), nil)
	d := dialDevice(t, f.addr("dev"), qn.V1, "meter-17")
	ts := make([]byte, 8)
	binary.BigEndian.PutUint64(ts, 1_700_000_000_123)
	sent := []qn.Field{
		{NS: 0, ID: 2, Ver: 1, Value: ts},
		{NS: 0, ID: 3, Ver: 1, Value: []byte("reading")},
		{NS: 0, ID: 4, Ver: 1, Value: []byte{0, 1, 2, 255}},
		{NS: 0, ID: 5, Ver: 1, Value: []byte{0x01, 0x02}},
		{NS: 0, ID: 200, Ver: 1, Value: []byte("unregistered")},
	}
	for i := 1; i <= 3; i++ {
		seq := d.send(sent...)
		ack, err := d.next()
		if err != nil {
			t.Fatal(err)
		}
		if ack.Version != qn.V1 || ack.Type != qn.TypeAck || ack.Seq != seq {
			t.Fatalf("answer %+v", ack.Header)
		}
		var got []qn.Field
		for it := ack.Fields(); it.Next(); {
			got = append(got, it.Field())
		}
		want := []qn.Field{{NS: 0, ID: 3, Ver: 1, Value: []byte("server-v2")}, {NS: 0, ID: 5, Ver: 1, Value: []byte{0, 200}}}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("device got fields %v, want %v", got, want)
		}
	}
	frames := v2.received()
	if len(frames) != 3 {
		t.Fatalf("server got %d frames", len(frames))
	}
	for i, raw := range frames {
		fr, _, err := qn.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if fr.Version != qn.V2 || fr.Type != qn.TypeData || fr.Seq != uint32(i+1) || fr.Flags != 0 {
			t.Fatalf("server frame %d header %+v", i, fr.Header)
		}
		want := append([]qn.Field{{NS: 0, ID: 1, Ver: 1, Value: []byte("meter-17")}}, sent...)
		j := 0
		for it := fr.Fields(); it.Next(); j++ {
			g := it.Field()
			if j >= len(want) || g.NS != want[j].NS || g.ID != want[j].ID || g.Ver != want[j].Ver || !bytes.Equal(g.Value, want[j].Value) {
				t.Fatalf("server frame %d field %d = %+v, want %+v", i, j, g, want[min(j, len(want)-1)])
			}
		}
		if j != len(want) {
			t.Fatalf("server frame %d has %d fields, want %d", i, j, len(want))
		}
	}
	// Dropped per field: ns 1 is unregistered, body twice per answer.
	if got := f.obs.get(f.obs.dropped, "body"); got != 6 {
		t.Errorf("dropped body = %d, want 6", got)
	}
	if got := f.obs.get(f.obs.dropped, Unregistered); got != 3 {
		t.Errorf("dropped unregistered = %d, want 3", got)
	}
	if st := f.m.Stats("dev")["v2"]; st.Dropped != 9 || st.Acks != 3 {
		t.Errorf("stats %+v", st)
	}
}

// TestRefusedTranslation: a v2 frame v1 cannot express without losing a
// required_downgrade field is NACKed to its sender, in its version.
// authRegistry is the core fields and an "auth" field a v1 frame cannot
// carry (a translation to v1 refuses frames with it).
func authRegistry(t *testing.T) *qn.Registry {
	t.Helper()
	reg, err := qn.NewRegistry(append(qn.CoreFields(), qn.FieldDef{NS: 1, ID: 1, Name: "auth", Type: qn.Bytes, Version: 1, RequiredDowngrade: true})...)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func TestRefusedTranslation(t *testing.T) {
	reg := authRegistry(t)
	v1 := newServer(t, "server-v1", qn.V1)
	f := newFixture(t, oneVersion(qn.V1, v1.addr(), "", ", translate: true"), reg)
	d := dialDevice(t, f.addr("dev"), qn.V2, "gw-2")
	// Translatable: goes through and is ACKed in v2.
	if got, typ := d.roundTrip(); got != "server-v1" || typ != qn.TypeAck {
		t.Fatalf("answer %q %v", got, typ)
	}
	seq := d.send(qn.Field{NS: 1, ID: 1, Ver: 1, Value: []byte("secret")})
	nack, err := d.next()
	if err != nil {
		t.Fatal(err)
	}
	if nack.Version != qn.V2 || nack.Type != qn.TypeNack || nack.Seq != seq {
		t.Fatalf("answer to a refused frame: %+v", nack.Header)
	}
	// The connection goes on.
	if got, _ := d.roundTrip(); got != "server-v1" {
		t.Fatalf("after a refusal: %q", got)
	}
	if n := len(v1.received()); n != 2 {
		t.Fatalf("server got %d frames, want 2 (the refused one never reaches it)", n)
	}
	if st := f.m.Stats("dev")["v1"]; st.Refused != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestServerFrameRefused: a v2 server's frame with a sequence number v1
// cannot carry is NACKed back to the server.
func TestServerFrameRefused(t *testing.T) {
	v2 := newServer(t, "server-v2", qn.V2)
	big, _ := qn.Encode(nil, qn.Header{Version: qn.V2, Type: qn.TypeData, Seq: 70000}, nil)
	v2.extra = func(uint32) []byte { return big }
	f := newFixture(t, translatingV2(v2), nil)
	d := dialDevice(t, f.addr("dev"), qn.V1, "m-1")
	if got, _ := d.roundTrip(); got != "server-v2" {
		t.Fatal(got)
	}
	waitFor(t, "the server to get a NACK of seq 70000", func() bool {
		for _, raw := range v2.received() {
			if fr, _, err := qn.Parse(raw); err == nil && fr.Type == qn.TypeNack && fr.Seq == 70000 {
				return true
			}
		}
		return false
	})
}

// TestServerErrorBecomesNACK: v1 has no ERROR frame, so a v2 server's ERROR
// reaches a v1 device as a NACK of the same sequence number, carrying the
// fields v1 can express; it counts as a failure for the rollout's analysis.
func TestServerErrorBecomesNACK(t *testing.T) {
	v2 := newServer(t, "server-v2", qn.V2)
	v2.errFrames.Store(true)
	v2.reply = []qn.Field{
		{NS: 0, ID: 5, Ver: 1, Value: []byte{0x01, 0xf4}}, // status 500
		{NS: 1, ID: 9, Ver: 1, Value: []byte("trace")},    // v1 cannot carry it
	}
	f := newFixture(t, translatingV2(v2), nil)
	d := dialDevice(t, f.addr("dev"), qn.V1, "m-1")
	seq := d.send()
	got, err := d.next()
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != qn.V1 || got.Type != qn.TypeNack || got.Seq != seq {
		t.Fatalf("device got %v %v seq %d, want a v1 NACK of seq %d", got.Version, got.Type, got.Seq, seq)
	}
	kind, _ := got.Get(0, 3)
	status, _ := got.Get(0, 5)
	if string(kind.Value) != "server-v2" || string(status.Value) != "\x01\xf4" || got.NumFields != 2 {
		t.Fatalf("NACK fields: kind %q status %x, %d fields", kind.Value, status.Value, got.NumFields)
	}
	for _, raw := range v2.received() {
		if fr, _, err := qn.Parse(raw); err == nil && fr.Type == qn.TypeNack {
			t.Fatalf("the server got a NACK of seq %d: the ERROR must go to the device", fr.Seq)
		}
	}
	waitFor(t, "the ERROR to count as an error", func() bool {
		st := f.m.Stats("dev")["v2"]
		return st.Errors == 1 && st.Refused == 0
	})
	if n := f.obs.get(f.obs.dropped, "unregistered"); n != 1 {
		t.Fatalf("dropped unregistered fields = %d, want 1", n)
	}
}

// TestGarbageClosesOnlyThatConnection: bytes that are not QN, and a
// malformed frame after good ones, close their connection; the listener
// and the other connections keep serving.
func TestGarbageClosesOnlyThatConnection(t *testing.T) {
	v1, v2 := newServer(t, "server-v1", qn.V1), newServer(t, "server-v2", qn.V2)
	f := newFixture(t, twoVersions(v1, v2, ""), nil)
	other := dialDevice(t, f.addr("dev"), qn.V1, "bystander")
	if got, _ := other.roundTrip(); got != "server-v1" {
		t.Fatal(got)
	}

	c, err := net.Dial("tcp", f.addr("dev"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	if !closedByPeer(c) {
		t.Fatal("the HTTP request's connection stayed open")
	}

	d := dialDevice(t, f.addr("dev"), qn.V2, "broken")
	if got, _ := d.roundTrip(); got != "server-v2" {
		t.Fatal(got)
	}
	bad, _ := qn.Encode(nil, qn.Header{Version: qn.V2, Type: qn.TypeData, Seq: 9}, nil)
	bad[len(bad)-1] ^= 0xff // checksum
	_, _ = d.c.Write(bad)
	if !closedByPeer(d.c) {
		t.Fatal("a connection with a bad checksum stayed open")
	}

	if got, _ := other.roundTrip(); got != "server-v1" {
		t.Fatal(got)
	}
	if got, _ := dialDevice(t, f.addr("dev"), qn.V1, "after").roundTrip(); got != "server-v1" {
		t.Fatal(got)
	}
	if f.obs.get(f.obs.rejected, RejectNotQN) != 1 || f.obs.get(f.obs.rejected, RejectMalformed) != 1 {
		t.Fatalf("rejections %v", f.obs.rejected)
	}
}

// TestGraceAndNewConnections: when the weight drops to 0 (a rollback), new
// connections go to from at once and connections on to are closed after
// grace, by the manager's clock.
func TestGraceAndNewConnections(t *testing.T) {
	v1, v2 := newServer(t, "server-v1", qn.V1), newServer(t, "server-v2", qn.V2)
	cfg := twoVersions(v1, v2, rolloutExtra+", steps: [100], step_interval: 1h") + "    qn: { grace: 300ms }\n"
	cfg = bytes.NewBuffer([]byte(cfg)).String()
	clock := testclock.New(time.Now())
	f := newFixtureAt(t, cfg, nil, clock.Now)
	f.setWeight(t, "dev", 100)
	f.waitTicks(t)
	d := dialDevice(t, f.addr("dev"), qn.V1, "dev-a")
	if got, _ := d.roundTrip(); got != "server-v2" {
		t.Fatal(got)
	}
	f.setWeight(t, "dev", 0)
	if got, _ := dialDevice(t, f.addr("dev"), qn.V1, "dev-a").roundTrip(); got != "server-v1" {
		t.Fatalf("new connection after rollback went to %s", got)
	}
	f.waitTicks(t) // the watcher saw the rollback: grace starts at the clock's now
	clock.Advance(250 * time.Millisecond)
	f.waitTicks(t)
	// Still served during grace.
	if got, _ := d.roundTrip(); got != "server-v2" {
		t.Fatal(got)
	}
	if n := f.obs.get(f.obs.rejected, RejectGrace); n != 0 {
		t.Fatalf("%d connections closed before grace ran out", n)
	}
	clock.Advance(50 * time.Millisecond)
	if !closedByPeer(d.c) {
		t.Fatal("connection on the rolled-back version not closed")
	}
	if n := f.obs.get(f.obs.rejected, RejectGrace); n != 1 {
		t.Fatalf("%d connections closed after grace, want 1", n)
	}
}

func TestMaxConnectionsAndTimeout(t *testing.T) {
	v1, v2 := newServer(t, "server-v1", qn.V1), newServer(t, "server-v2", qn.V2)
	cfg := twoVersions(v1, v2, "") + "    qn: { max_connections: 1, first_frame_timeout: 100ms }\n"
	f := newFixture(t, cfg, nil)
	d := dialDevice(t, f.addr("dev"), qn.V1, "first")
	if got, _ := d.roundTrip(); got != "server-v1" {
		t.Fatal(got)
	}
	c, err := net.Dial("tcp", f.addr("dev"))
	if err != nil {
		t.Fatal(err)
	}
	if !closedByPeer(c) {
		t.Fatal("connection above max_connections stayed open")
	}
	_ = d.c.Close()
	waitFor(t, "the first connection to end", func() bool { return f.m.Stats("dev")["v1"].Active == 0 })
	// A connection that sends nothing is closed after first_frame_timeout.
	silent, err := net.Dial("tcp", f.addr("dev"))
	if err != nil {
		t.Fatal(err)
	}
	if !closedByPeer(silent) {
		t.Fatal("silent connection stayed open")
	}
	waitFor(t, "timeout counted", func() bool { return f.obs.get(f.obs.rejected, RejectTimeout) == 1 })
}

func TestConnectFailureRecorded(t *testing.T) {
	v1 := newServer(t, "server-v1", qn.V1)
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadAddr := dead.Addr().String()
	_ = dead.Close()
	f := newFixture(t, oneVersion(qn.V1, v1.addr()+", tcp://"+deadAddr, "", ""), nil)
	for i := range 4 {
		if got, _ := dialDevice(t, f.addr("dev"), qn.V1, fmt.Sprint(i)).roundTrip(); got != "server-v1" {
			t.Fatal(got)
		}
	}
	if st := f.m.Stats("dev")["v1"]; st.ConnectFailures == 0 {
		t.Fatalf("no connect failure counted: %+v", st)
	}
	w := f.stats.VersionWindow("dev", "v1", 10*time.Second, time.Time{})
	if w.Errors == 0 {
		t.Fatalf("connect failures not in the stats window: %+v", w)
	}
	_ = route.Buckets
}

// TestDeadTargetEjected: after eject_after failed dials a tcp:// target is
// tried last (so devices stop paying for its dial) and reported ejected;
// after eject_for it is back in rotation, and a good dial makes it healthy.
func TestDeadTargetEjected(t *testing.T) {
	v1 := newServer(t, "server-v1", qn.V1)
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadAddr := dead.Addr().String()
	_ = dead.Close()
	clock := testclock.New(time.Now()) // connection deadlines come from it too
	cfg := oneVersion(qn.V1, "tcp://"+deadAddr+", "+v1.addr(), ", eject_after: 2, eject_for: 30s", "")
	f := newFixtureAt(t, cfg, nil, clock.Now)
	status := func() []TargetStatus { return f.m.Targets(f.tab.Load().Config, "dev-v1") }
	for i := range 4 {
		if got, _ := dialDevice(t, f.addr("dev"), qn.V1, fmt.Sprint(i)).roundTrip(); got != "server-v1" {
			t.Fatal(got)
		}
	}
	// Round robin sends every other connection to the dead target first:
	// two failures eject it, and then it is never dialled first.
	if n := f.m.Stats("dev")["v1"].ConnectFailures; n != 2 {
		t.Fatalf("connect failures = %d, want 2 (then ejected)", n)
	}
	want := []TargetStatus{{URL: "tcp://" + deadAddr, Healthy: false, Ejected: true}, {URL: v1.addr(), Healthy: true}}
	if got := status(); !reflect.DeepEqual(got, want) {
		t.Fatalf("status %+v, want %+v", got, want)
	}
	clock.Advance(31 * time.Second)
	if got := status(); got[0].Ejected || got[0].Healthy {
		t.Fatalf("after eject_for: %+v, want back in rotation and still unhealthy", got[0])
	}
	// The target comes back: a device lands on it and it is healthy again.
	newServerAt(t, "server-v1-b", qn.V1, deadAddr)
	served := map[string]bool{}
	for i := range 4 {
		got, _ := dialDevice(t, f.addr("dev"), qn.V1, fmt.Sprint("b", i)).roundTrip()
		served[got] = true
	}
	if !served["server-v1-b"] || !served["server-v1"] {
		t.Fatalf("served by %v, want both targets", served)
	}
	if got := status(); !got[0].Healthy || got[0].Ejected {
		t.Fatalf("recovered target: %+v", got[0])
	}
	if got := f.m.Targets(f.tab.Load().Config, "nope"); got != nil {
		t.Fatalf("unknown upstream: %+v", got)
	}
}

// TestUnansweredDataIsAFailure: a server that accepts frames and never
// answers them fails the version like one that NACKs: each DATA frame left
// unanswered past the upstream's timeout is recorded as a failure, once.
func TestUnansweredDataIsAFailure(t *testing.T) {
	v1 := newServer(t, "server-v1", qn.V1)
	v1.silent.Store(true)
	clock := testclock.New(time.Now()) // connection deadlines come from it too
	f := newFixtureAt(t, oneVersion(qn.V1, v1.addr(), ", timeout: 2s", ""), nil, clock.Now)
	d := dialDevice(t, f.addr("dev"), qn.V1, "m-1")
	d.send()
	d.send()
	waitFor(t, "the server to get both frames", func() bool { return len(v1.received()) == 2 })
	clock.Advance(time.Second)
	f.waitTicks(t)
	if st := f.m.Stats("dev")["v1"]; st.Unanswered != 0 {
		t.Fatalf("unanswered before the timeout: %+v", st)
	}
	clock.Advance(1500 * time.Millisecond)
	waitFor(t, "both frames counted unanswered", func() bool { return f.m.Stats("dev")["v1"].Unanswered == 2 })
	w := f.stats.VersionWindow("dev", "v1", time.Minute, time.Time{})
	if w.Requests != 2 || w.Errors != 2 {
		t.Fatalf("stats window %+v, want 2 requests, 2 errors", w)
	}
	// Each frame is counted once.
	clock.Advance(10 * time.Second)
	f.waitTicks(t)
	if st := f.m.Stats("dev")["v1"]; st.Unanswered != 2 {
		t.Fatalf("unanswered = %d, want 2", st.Unanswered)
	}
}

// TestLostFlagsCounted: v1 has no flags, so a v2 device's ack-requested and
// exactly-once bits cannot reach a v1 server; the frame goes through and
// each lost bit is counted, never dropped silently.
func TestLostFlagsCounted(t *testing.T) {
	v1 := newServer(t, "server-v1", qn.V1)
	f := newFixture(t, oneVersion(qn.V1, v1.addr(), "", ", translate: true"), nil)
	d := dialDevice(t, f.addr("dev"), qn.V2, "m-1")
	frame, err := qn.Encode(nil, qn.Header{Version: qn.V2, Type: qn.TypeData, Seq: 1, Flags: qn.FlagAckRequested | qn.FlagExactlyOnce},
		[]qn.Field{{NS: 0, ID: 1, Ver: 1, Value: []byte("m-1")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.c.Write(frame); err != nil {
		t.Fatal(err)
	}
	got, err := d.next()
	if err != nil || got.Version != qn.V2 || got.Type != qn.TypeAck || got.Seq != 1 {
		t.Fatalf("answer %+v, %v; want a v2 ACK of seq 1", got.Header, err)
	}
	if st := f.m.Stats("dev")["v1"]; st.DroppedFlags != 2 || st.Dropped != 0 {
		t.Fatalf("stats %+v, want 2 dropped flags and no dropped field", st)
	}
	for _, name := range []string{"flag:ack_requested", "flag:exactly_once"} {
		if n := f.obs.get(f.obs.dropped, name); n != 1 {
			t.Errorf("%s dropped %d times, want 1", name, n)
		}
	}
}

// TestPipelinedBurst: a device writes 300 frames at once, every seventh one
// refused by translation. The gateway forwards each pump's frames in
// batches (one write per read); the server still gets every translatable
// frame once and in order, and the device gets exactly one answer per
// frame: a NACK for the refused, an ACK for the others.
func TestPipelinedBurst(t *testing.T) {
	reg := authRegistry(t)
	v1 := newServer(t, "server-v1", qn.V1)
	f := newFixture(t, oneVersion(qn.V1, v1.addr(), "", ", translate: true"), reg)
	d := dialDevice(t, f.addr("dev"), qn.V2, "burst-1")
	const n = 300
	refused := func(seq uint32) bool { return seq%7 == 0 }
	var burst []byte
	var err error
	for seq := uint32(1); seq <= n; seq++ {
		fields := []qn.Field{{NS: 0, ID: 1, Ver: 1, Value: []byte(d.id)}}
		if refused(seq) {
			fields = append(fields, qn.Field{NS: 1, ID: 1, Ver: 1, Value: []byte("secret")})
		}
		if burst, err = qn.Encode(burst, qn.Header{Version: qn.V2, Type: qn.TypeData, Seq: seq}, fields); err != nil {
			t.Fatal(err)
		}
	}
	_ = d.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := d.c.Write(burst); err != nil {
		t.Fatal(err)
	}
	answered := map[uint32]qn.Type{}
	for range n {
		fr, err := d.next()
		if err != nil {
			t.Fatalf("after %d answers: %v", len(answered), err)
		}
		if _, dup := answered[fr.Seq]; dup {
			t.Fatalf("seq %d answered twice", fr.Seq)
		}
		answered[fr.Seq] = fr.Type
	}
	for seq := uint32(1); seq <= n; seq++ {
		want := qn.TypeAck
		if refused(seq) {
			want = qn.TypeNack
		}
		if answered[seq] != want {
			t.Fatalf("seq %d answered %v, want %v", seq, answered[seq], want)
		}
	}
	var last uint32
	got := 0
	for _, raw := range v1.received() {
		fr, _, err := qn.Parse(raw)
		if err != nil || fr.Type != qn.TypeData {
			continue
		}
		if refused(fr.Seq) || fr.Seq <= last {
			t.Fatalf("server got seq %d after %d", fr.Seq, last)
		}
		last = fr.Seq
		got++
	}
	if want := n - n/7; got != want {
		t.Fatalf("server got %d DATA frames, want %d", got, want)
	}
}
