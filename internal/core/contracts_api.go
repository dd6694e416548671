package core

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/turnout-gw/turnout/internal/admin"
	"github.com/turnout-gw/turnout/internal/contract"
	"github.com/turnout-gw/turnout/internal/contract/live"
	"github.com/turnout-gw/turnout/internal/httperr"
)

// ContractView is the body of GET /api/v1/contracts/{service}: the
// service's documents by version and its rollout's compatibility report.
type ContractView struct {
	Service  string                  `json:"service"`
	Versions map[string]DocumentView `json:"versions"`
	From     string                  `json:"from,omitempty"`
	To       string                  `json:"to,omitempty"`
	// RequireCompatible is the rollout's setting; Holds says whether the
	// report holds the rollout pending because of it.
	RequireCompatible bool   `json:"require_compatible"`
	Holds             bool   `json:"holds"`
	Summary           string `json:"summary,omitempty"`
	// Report is the report from From's document to To's (see
	// contract.Report.JSON), or null when either has none.
	Report any `json:"report"`
	// Validation is what validating the rollout's `to` answers found
	// (against `from`'s document, or `to`'s own when `to` is an adapted
	// version with one; contract.validate_percent): the results
	// max_contract_violation_rate reads, null when they are not validated.
	Validation *live.Validation `json:"validation"`
	// Validations are every validated version's results, by version: the
	// rollout's `to` and each adapted version (served_by) validated
	// against its own document.
	Validations []live.Validation `json:"validations"`
}

// DocumentView describes one version's loaded OpenAPI document.
type DocumentView struct {
	Path    string `json:"path"`
	OpenAPI string `json:"openapi"`
	Version string `json:"version,omitempty"` // info.version
	Hash    string `json:"hash"`
}

// View returns the API view of a service's contracts.
func (s *ServiceContracts) View() ContractView {
	v := ContractView{Service: s.Service, Versions: map[string]DocumentView{}, From: s.From, To: s.To,
		RequireCompatible: s.RequireCompatible, Holds: s.Holds()}
	for name, d := range s.Documents {
		dv := DocumentView{Path: d.Path, OpenAPI: d.OpenAPI(), Hash: d.Hash}
		if d.Spec.Info != nil {
			dv.Version = d.Spec.Info.Version
		}
		v.Versions[name] = dv
	}
	if s.Report != nil {
		v.Summary = s.Report.Summary()
		v.Report = s.Report.JSON(contract.ERR)
	}
	return v
}

// contractList is the body of GET /api/v1/contracts.
type contractList struct {
	Contracts []ContractView `json:"contracts"`
}

// contractsAPI serves the live configuration's contracts on the admin
// API (admin.Contracts): GET /api/v1/contracts and GET
// /api/v1/contracts/{service} (404 when the service has none), with lv's
// validation results, and lv's deprecated usage at GET
// /api/v1/deprecations/{service}.
type contractsAPI struct {
	g  *Configs
	lv *live.Manager
}

func (c contractsAPI) view(s *ServiceContracts) ContractView {
	v := s.View()
	if val, ok := c.lv.Validation(s.Service); ok {
		v.Validation = &val
	}
	v.Validations = c.lv.Validations(s.Service)
	if v.Validations == nil {
		v.Validations = []live.Validation{}
	}
	return v
}

func (c contractsAPI) ServeList(w http.ResponseWriter, r *http.Request) {
	cs := c.g.Contracts()
	list := contractList{Contracts: []ContractView{}}
	for _, name := range cs.Services() {
		list.Contracts = append(list.Contracts, c.view(cs.Service(name)))
	}
	writeJSON(w, list)
}

func (c contractsAPI) ServeDeprecations(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("service")
	d, ok := c.lv.Deprecations(name)
	if !ok {
		admin.WriteError(w, http.StatusNotFound, fmt.Errorf("service %q has no deprecated operations or parameters in its versions' OpenAPI documents", name))
		return
	}
	writeJSON(w, d)
}

func (c contractsAPI) ServeService(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("service")
	s := c.g.Contracts().Service(name)
	if s == nil {
		admin.WriteError(w, http.StatusNotFound, fmt.Errorf("service %q has no OpenAPI contracts (no version sets openapi)", name))
		return
	}
	writeJSON(w, c.view(s))
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		admin.WriteError(w, http.StatusInternalServerError, err)
		return
	}
	httperr.WriteJSON(w, http.StatusOK, append(b, '\n'))
}
