package trustcases

// qnKeys name, per case, the key of the case's configuration the QN
// listener refuses (config.Service.Refusals for qn), which a QN harness
// asserts refused for the qn variant of the case's service: colour is
// routed by rules, a pin by negotiate (the sources a request pins by;
// written in the variant when the service relies on the default ones).
var qnKeys = map[string]string{
	"trusted colour":                "rules",
	"trusted pin":                   "negotiate",
	"untrusted colour ignored":      "rules",
	"untrusted pin refused":         "negotiate",
	"untrusted peer colour ignored": "rules",
	"forged signature ignored":      "rules",
	"signed colour":                 "rules",
	"signed pin":                    "negotiate",
	"untrusted pin allowed":         "negotiate",
}

// QNKey is the key of YAML's service at c.Path that QN refuses for c ("" when
// QN runs c).
func (c Case) QNKey() string { return qnKeys[c.Name] }
