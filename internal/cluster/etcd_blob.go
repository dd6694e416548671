package cluster

import (
	"context"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// SharedBuckets are the blob buckets a Store writes to the fleet: the
// applied retirement-schedule steps (internal/lifecycle), which every
// member must follow. Other buckets stay local to the member.
var SharedBuckets = map[string]bool{"lifecycle": true}

func (e *Etcd) blobKey(bucket, key string) string { return e.prefix + "/blobs/" + bucket + "/" + key }

// PutBlob writes value at bucket/key in etcd: a plain put, the last
// writer wins (a shared blob's writer makes it idempotent).
func (e *Etcd) PutBlob(ctx context.Context, bucket, key string, value []byte) error {
	bctx, cancel := e.bound(ctx)
	defer cancel()
	if _, err := e.c.Put(bctx, e.blobKey(bucket, key), string(value)); err != nil {
		return e.fail(ctx, "write blob "+bucket+"/"+key, err)
	}
	return nil
}

// Blobs returns every blob of bucket, by key.
func (e *Etcd) Blobs(ctx context.Context, bucket string) (map[string][]byte, error) {
	bctx, cancel := e.bound(ctx)
	defer cancel()
	pfx := e.blobKey(bucket, "")
	resp, err := e.c.Get(bctx, pfx, clientv3.WithPrefix())
	if err != nil {
		return nil, e.fail(ctx, "read blobs "+bucket, err)
	}
	out := make(map[string][]byte, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		out[strings.TrimPrefix(string(kv.Key), pfx)] = kv.Value
	}
	return out, nil
}

// blobChange classifies a key under PREFIX/blobs/: the bucket is the
// first path element, the key the rest.
func (e *Etcd) blobChange(key string, value []byte, deleted bool, rev int64) (Change, bool) {
	rest := strings.TrimPrefix(key, e.prefix+"/blobs/")
	bucket, k, ok := strings.Cut(rest, "/")
	if !ok || bucket == "" || k == "" {
		return Change{}, false
	}
	c := Change{Kind: KindBlob, Bucket: bucket, Name: k, Rev: rev}
	if !deleted {
		c.Value = value
	}
	return c, true
}
