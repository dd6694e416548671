package etcdtest

import (
	"context"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// TestStopAndStartKeepTheData: a key written before Stop is read after
// Start on the same endpoint, and while stopped a bounded request fails.
func TestStopAndStartKeepTheData(t *testing.T) {
	s := Start(t)
	c, err := clientv3.New(clientv3.Config{Endpoints: s.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Put(ctx, "/k", "v"); err != nil {
		t.Fatalf("put: %v", err)
	}

	s.Stop()
	short, cancelShort := context.WithTimeout(context.Background(), 300*time.Millisecond)
	_, err = c.Get(short, "/k")
	cancelShort()
	if err == nil {
		t.Fatal("get from a stopped etcd succeeded")
	}

	s.Start()
	resp, err := c.Get(ctx, "/k")
	if err != nil {
		t.Fatalf("get after restart: %v", err)
	}
	if len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "v" {
		t.Fatalf("after restart /k = %v, want v", resp.Kvs)
	}
}
