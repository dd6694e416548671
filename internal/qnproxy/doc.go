// Package qnproxy serves the QN services of a configuration (protocol: qn):
// one TCP listener per service, on the service's own listen address.
//
// For each device connection it reads the first frame (bounded by
// qn.first_frame_timeout), tells v1 from v2 (qn.Sniff), and picks the
// version that serves the device: the candidates are the versions that
// speak the device's QN version or translate, and among them the rollout
// split applies, sticky by the first frame's device_id field (a device lands
// on the same version across reconnects; without device_id the bucket is
// random), then the default, then any candidate. It dials one of the
// version's tcp:// targets and forwards frames whole in both directions,
// translating each frame when the device and the server speak different
// versions (qn.ToV2 towards a v2 side, qn.ToV1 towards a v1 side, dropped
// fields and lost v2 flag bits counted per field or flag). A v2 server's ERROR frame reaches a v1 device
// as a NACK of the same sequence number (v1 has no ERROR). A frame
// translation refuses is answered with a NACK of its sequence number to its
// sender, in the sender's version.
//
// Safety. Every DATA frame of the device is matched with the server's ACK,
// NACK or ERROR of the same sequence number; the outcome is recorded in the
// stats registry under (service, version, upstream) — a NACK or ERROR is a
// failure, the time from DATA to its answer the latency, a DATA frame
// unanswered past the upstream's timeout a failure — and so are upstream
// connect failures, after eject_after of which a target is dialled last
// for eject_for. The rollout engine's analysis and automatic
// rollback read those windows unchanged. The routing table is read for each
// new connection, so weight changes and rollbacks apply to new connections
// at once; connections already open on a version the table would no longer
// pick for them are closed after qn.grace. A frame that is not QN or is
// malformed closes its connection (logged, counted), never the listener;
// a side silent for qn.idle_timeout is closed; qn.max_connections caps the
// open device connections.
//
// The listen address of a service is bound once: changing it needs a
// restart (a reload logs a warning). Routing and weights change live.
package qnproxy
