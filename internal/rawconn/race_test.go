//go:build race

package rawconn_test

const raceEnabled = true
