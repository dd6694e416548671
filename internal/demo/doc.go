// Package demo owns `turnout demo`: the built-in sample "users" API (whose
// v1 and v2 answer with different JSON shapes), starting that API twice on
// loopback next to a whole Turnout running the embedded examples/demo.yaml,
// the light load generator that keeps the dashboard moving, the optional
// failure injection that makes v2 answer 500 after a while, and the banner of
// ready-to-paste curl commands. The cli package only parses flags, prints
// the banner and waits for Ctrl-C.
package demo
