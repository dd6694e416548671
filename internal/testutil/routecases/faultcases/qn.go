package faultcases

// QN is the QN listener's applier name (config.ApplierQN).
const QN = "qn"

// qnKeys name, per case, the key of YAML's users service the QN listener
// refuses (config.Service.Refusals for qn): it injects no faults and has
// no rules or pins (negotiate: written in the qn variant, as the default
// sources the case pins by).
var qnKeys = map[string]string{
	"version fault":                 "versions.v1.fault",
	"no fault":                      "negotiate",
	"rule fault":                    "rules",
	"rule fault replaces version's": "rules",
}

// Refused lists the appliers that cannot honour c (validate refuses the
// configuration for them).
func (c Case) Refused() []string {
	if c.QNKey() != "" {
		return []string{QN}
	}
	return nil
}

// RefusedBy reports whether applier cannot honour c.
func (c Case) RefusedBy(applier string) bool {
	for _, a := range c.Refused() {
		if a == applier {
			return true
		}
	}
	return false
}

// QNKey is the key QN refuses for c ("" when QN runs c).
func (c Case) QNKey() string { return qnKeys[c.Name] }
