package config

// Validate checks the whole tree; see the per-node Validate methods.
// (Temporary: the full validation is being written.)
func (c *Config) Validate() error { return nil }
