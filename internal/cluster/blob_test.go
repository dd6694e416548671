package cluster

import (
	"testing"

	"github.com/turnout-gw/turnout/internal/testutil/etcdtest"
	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

// TestEtcdBlobPutListWatch: a blob one member puts is listed by another
// and delivered by its watch as a KindBlob change with bucket, key and
// value.
func TestEtcdBlobPutListWatch(t *testing.T) {
	srv := etcdtest.Start(t)
	a, b := open(t, srv), open(t, srv)
	c := ctx(t)
	_, rev, err := b.Rollouts(c)
	if err != nil {
		t.Fatal(err)
	}
	ch := b.Watch(c, rev)
	if err := a.PutBlob(c, "lifecycle", "users/v1", []byte(`{"lifecycle":"gone"}`)); err != nil {
		t.Fatal(err)
	}
	got := next(t, ch, KindBlob)
	if got.Bucket != "lifecycle" || got.Name != "users/v1" || string(got.Value) != `{"lifecycle":"gone"}` {
		t.Fatalf("change %+v, want lifecycle users/v1", got)
	}
	blobs, err := b.Blobs(c, "lifecycle")
	if err != nil {
		t.Fatal(err)
	}
	if len(blobs) != 1 || string(blobs["users/v1"]) != `{"lifecycle":"gone"}` {
		t.Fatalf("blobs %q, want users/v1 only", blobs)
	}
}

// TestStoreSharesLifecycleBlobs: a lifecycle blob written through one
// member's Store is listed by the other member's (through its watch), and
// one written before a member loads is read by its Load; other buckets
// stay local.
func TestStoreSharesLifecycleBlobs(t *testing.T) {
	srv := etcdtest.Start(t)
	cfg := manyServices(t, 1, 0)
	a := newMember(t, srv, "a", cfg)
	if err := a.st.PutBlob("lifecycle", "users/v1", []byte("early")); err != nil {
		t.Fatal(err)
	}
	b := newMember(t, srv, "b", cfg)
	if v, ok, err := b.st.GetBlob("lifecycle", "users/v1"); err != nil || !ok || string(v) != "early" {
		t.Fatalf("after Load: %q %v %v, want early", v, ok, err)
	}
	if err := a.st.PutBlob("lifecycle", "users/v2", []byte("late")); err != nil {
		t.Fatal(err)
	}
	if err := a.st.PutBlob("usage", "users", []byte("mine")); err != nil {
		t.Fatal(err)
	}
	wait.For(t, deadline, "b lists a's late blob", func() bool {
		m, err := b.st.ListBlobs("lifecycle")
		return err == nil && string(m["users/v2"]) == "late" && len(m) == 2
	})
	if m, err := b.st.ListBlobs("usage"); err != nil || len(m) != 0 {
		t.Fatalf("b's usage bucket %q %v: want empty, buckets other than lifecycle stay local", m, err)
	}
}
