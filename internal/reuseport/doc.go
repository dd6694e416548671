// Package reuseport owns how Turnout binds its TCP listeners: with
// SO_REUSEPORT on Linux, so that a new Turnout process (an upgrade or a
// restart) can bind the same data-plane, TLS, admin, QN and xDS addresses
// while the old one still holds them and drains. The kernel spreads new
// connections over every socket bound to an address; once the old process
// closes its listener, all of them reach the new one.
//
// Elsewhere Listen is net.Listen: a second process on the same address
// fails with "address already in use".
package reuseport
