package route

// Bucket returns the bucket of a sticky key under the rollout's salt: the
// same key always lands in the same bucket, whatever the weight.
func (ro *Rollout) Bucket(key string) uint64 { return BucketOf(key, ro.split.salt) }

// Pick returns the version of the rollout split for a bucket (0 to
// Buckets-1): To below the weight's threshold, From above it. Routers of
// other protocols (internal/qnproxy) use it with Bucket of their own sticky
// key, or with a random bucket.
func (ro *Rollout) Pick(bucket uint64) *Version { return ro.split.pick(bucket % Buckets) }
