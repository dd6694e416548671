package gateway_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/gateway"
)

// The two backends of the proof that v1 can be served by v2 (their
// documents are examples/openapi/adapt-*.yaml): the legacy v1 backend and the v2-only one describe the
// same users, so what a v1 client gets from either can be compared. User
// n is "User n", active unless n is a multiple of 3, with an e-mail
// address; ids from 1000 on do not exist.

// userOf is user n as both backends know it.
func userOf(n int) (name, email string, active bool) {
	return fmt.Sprintf("User %d", n), fmt.Sprintf("u%d@example.com", n), n%3 != 0
}

// maxUser is the first id that does not exist.
const maxUser = 1000

// writeJSON answers status with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// idOf returns the id of /PREFIX/ID, false when it does not exist.
func idOf(path, prefix string) (string, bool) {
	id, ok := strings.CutPrefix(path, prefix+"/")
	n, err := strconv.Atoi(id)
	return id, ok && err == nil && n > 0 && n < maxUser
}

// usersBackend is one of the two backends: its collection's path, the
// key of its list and the query parameter of its page size, user n as it
// says it, and how it reads a new user (false: a bad body).
type usersBackend struct {
	path, list, size string
	record           func(id string) map[string]any
	create           func(body *json.Decoder) (map[string]any, bool)
}

// start serves the backend on a loopback port until the test ends.
func (b usersBackend) start(t *testing.T) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == b.path && r.Method == http.MethodGet:
			size, _ := strconv.Atoi(r.URL.Query().Get(b.size))
			items := []any{}
			for i := 1; i <= min(max(size, 1), 50); i++ {
				items = append(items, b.record(strconv.Itoa(i)))
			}
			writeJSON(w, 200, map[string]any{b.list: items, "total": maxUser - 1})
		case r.URL.Path == b.path && r.Method == http.MethodPost:
			rec, ok := b.create(json.NewDecoder(r.Body))
			if !ok {
				writeJSON(w, 400, map[string]any{"error": "bad body"})
				return
			}
			writeJSON(w, 201, rec)
		case r.Method == http.MethodGet:
			if id, ok := idOf(r.URL.Path, b.path); ok {
				writeJSON(w, 200, b.record(id))
				return
			}
			writeJSON(w, 404, map[string]any{"error": "not found"})
		default:
			writeJSON(w, 405, map[string]any{"error": "method not allowed"})
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// legacyV1 is the v1 backend: /users, ?limit= and {id, name, active,
// email}.
func legacyV1(t *testing.T) *httptest.Server {
	return usersBackend{path: "/users", list: "users", size: "limit",
		record: func(id string) map[string]any {
			n, _ := strconv.Atoi(id)
			name, email, active := userOf(n)
			return map[string]any{"id": id, "name": name, "active": active, "email": email}
		},
		create: func(body *json.Decoder) (map[string]any, bool) {
			var in struct {
				Name   string `json:"name"`
				Active *bool  `json:"active"`
			}
			if body.Decode(&in) != nil || in.Name == "" {
				return nil, false
			}
			return map[string]any{"id": "999", "name": in.Name, "active": in.Active == nil || *in.Active, "email": "new@example.com"}, true
		},
	}.start(t)
}

// onlyV2 is the v2 backend: /accounts, ?page_size= and {id, full_name,
// state, email, created_at}; it knows nothing of /users.
func onlyV2(t *testing.T) *httptest.Server {
	return usersBackend{path: "/accounts", list: "items", size: "page_size",
		record: func(id string) map[string]any {
			n, _ := strconv.Atoi(id)
			name, email, active := userOf(n)
			state := "ACTIVE"
			if !active {
				state = "SUSPENDED"
			}
			return map[string]any{"id": id, "full_name": name, "state": state, "email": email, "created_at": "2026-01-02T03:04:05Z"}
		},
		create: func(body *json.Decoder) (map[string]any, bool) {
			var in struct {
				FullName string `json:"full_name"`
				State    string `json:"state"`
			}
			if body.Decode(&in) != nil || in.FullName == "" || in.State != "ACTIVE" && in.State != "SUSPENDED" {
				return nil, false
			}
			return map[string]any{"id": "999", "full_name": in.FullName, "state": in.State, "email": "new@example.com", "created_at": "2026-01-02T03:04:05Z"}, true
		},
	}.start(t)
}

// proofVars are the template variables of the proof's configurations:
// the two backends and the two documents, those of examples/adapt-proof.yaml.
func proofVars(t *testing.T) map[string]string {
	abs := func(name string) string {
		p, err := filepath.Abs(filepath.Join("..", "..", "examples", "openapi", name))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	return map[string]string{"V1": legacyV1(t).URL, "V2": onlyV2(t).URL,
		"DOC_V1": abs("adapt-users-v1.yaml"), "DOC_V2": abs("adapt-accounts-v2.yaml")}
}

// v1Adapter is the adapter of v1 served by v2, as YAML under a version
// (8 spaces): requests go to /accounts with v2's names, answers come back
// with v1's (an operation's programs replace the default ones). It does
// not produce v1's optional email. RESPONSE is the
// default response program (a broken one in the analysis test).
const v1Adapter = `        adapt:
          request: |
            .path |= sub("^/users"; "/accounts")
            | if .query.limit != null then .query.page_size = .query.limit | del(.query.limit) else . end
            | if .body != null
              then .body |= {full_name: .name, state: (if .active == false then "SUSPENDED" else "ACTIVE" end)}
              else . end
          response: |
            {{RESPONSE}}
          operations:
            - method: GET
              path: /users
              request: '.path = "/accounts" | .query.page_size = (.query.limit // "10") | del(.query.limit)'
              response: |
                .body |= {users: [.items[] | {id, name: .full_name, active: (.state == "ACTIVE")}], total}
`

// goodResponse is v1's response program for one account (an error
// body passes as it is).
const goodResponse = `.body |= (if type == "object" and has("full_name") then {id, name: .full_name, active: (.state == "ACTIVE")} else . end)`

// gatewayTick runs the rollout engine often enough for a test.
func gatewayTick() gateway.AppOptions { return gateway.AppOptions{Tick: 20 * time.Millisecond} }
