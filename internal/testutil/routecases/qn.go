package routecases

import "github.com/turnout-gw/turnout/internal/testutil/routecases/trustcases"

// QN is the QN listener's applier name (config.ApplierQN).
const QN = trustcases.QN

// pinQNKeys name, per Pin, the key of YAML's users service the QN listener
// refuses (config.Service.Refusals for qn) for that case, "" for the
// cases QN runs through its picker: devices send frames, so a version is
// never pinned (negotiate), coloured (rules) or chosen by path (match);
// a device that pins nothing gets the split and the default.
var pinQNKeys = map[string]string{
	"default":        "",
	"header":         "negotiate",
	"accept vendor":  "negotiate",
	"accept param":   "negotiate",
	"path stripped":  "negotiate",
	"query":          "negotiate",
	"rule":           "rules",
	"not acceptable": "negotiate",
	"malformed":      "negotiate",
	"gone":           "negotiate",
	"redirect":       "negotiate",
	"no service":     "match",
}

// Refused lists the appliers that cannot honour p (validate refuses the
// configuration for them).
func (p Pin) Refused() []string {
	if p.QNKey() != "" {
		return []string{QN}
	}
	return nil
}

// RefusedBy reports whether applier cannot honour p.
func (p Pin) RefusedBy(applier string) bool {
	for _, a := range p.Refused() {
		if a == applier {
			return true
		}
	}
	return false
}

// QNKey is the key QN refuses for p ("" when QN runs p).
func (p Pin) QNKey() string { return pinQNKeys[p.Name] }

// StickyQN says how QN runs RunStickySplit's case: its rollouts are always
// sticky by the device_id of a connection's first frame, so the split
// runs with device ids as the sticky key and the configured sticky key
// (rollout.sticky, which QN refuses) left out.
const StickyQN = "rollout.sticky"
