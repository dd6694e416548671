package demo

import (
	"encoding/json"
	"net/http"
	"sync/atomic"
)

// UsersAPI is the sample "users" API in one version. It answers
// GET /users, GET /users/{id} and GET /healthz with JSON and sets
// X-Sample-Version on every response. It is safe for concurrent use.
type UsersAPI struct {
	// Version is "v1" or "v2"; any other value answers in the v2 shape.
	Version string
	// Failing makes every request except /healthz answer 500, the way a
	// bad release fails while its health check stays green.
	Failing atomic.Bool
	// Requests counts the requests served, /healthz excepted.
	Requests atomic.Int64

	mux *http.ServeMux
}

// Users returns the sample users API of version ("v1" or "v2"). v1 answers
// GET /users/1 with {"id":"1","name":"Ada Lovelace","email":"ada@example.com"};
// v2 with {"id":"1","name":{"first":"Ada","last":"Lovelace"},
// "contact":{"email":"ada@example.com"},"version":2}.
func Users(version string) *UsersAPI {
	u := &UsersAPI{Version: version, mux: http.NewServeMux()}
	u.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": u.Version})
	})
	u.mux.HandleFunc("GET /users", u.list)
	u.mux.HandleFunc("GET /users/{$}", u.list)
	u.mux.HandleFunc("GET /users/{id}", u.get)
	u.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such resource: " + r.URL.Path})
	})
	return u
}

// ServeHTTP serves one request.
func (u *UsersAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Sample-Version", u.Version)
	if r.URL.Path != "/healthz" {
		u.Requests.Add(1)
		if u.Failing.Load() {
			writeJSON(w, http.StatusInternalServerError, map[string]string{
				"error": "the " + u.Version + " sample is failing on purpose (turnout demo --fail-after)"})
			return
		}
	}
	u.mux.ServeHTTP(w, r)
}

type person struct {
	id, first, last, email string
}

// people are the sample users, in id order.
var people = []person{
	{"1", "Ada", "Lovelace", "ada@example.com"},
	{"2", "Alan", "Turing", "alan@example.com"},
	{"3", "Grace", "Hopper", "grace@example.com"},
	{"4", "Edsger", "Dijkstra", "edsger@example.com"},
	{"5", "Barbara", "Liskov", "barbara@example.com"},
	{"6", "Donald", "Knuth", "donald@example.com"},
}

// userV1 is the v1 shape: a flat record.
type userV1 struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

// userV2 is the v2 shape: structured name and contact, and the version.
type userV2 struct {
	ID      string    `json:"id"`
	Name    nameV2    `json:"name"`
	Contact contactV2 `json:"contact"`
	Version int       `json:"version,omitempty"`
}

type nameV2 struct {
	First string `json:"first"`
	Last  string `json:"last"`
}

type contactV2 struct {
	Email string `json:"email"`
}

func (u *UsersAPI) v1() bool { return u.Version == "v1" }

// shape returns p in this version's shape; inList leaves out the version
// field of v2 items (the list carries it once).
func (u *UsersAPI) shape(p person, inList bool) any {
	if u.v1() {
		return userV1{ID: p.id, Name: p.first + " " + p.last, Email: p.email}
	}
	v := userV2{ID: p.id, Name: nameV2{First: p.first, Last: p.last}, Contact: contactV2{Email: p.email}, Version: 2}
	if inList {
		v.Version = 0
	}
	return v
}

// list answers GET /users: a JSON array in v1, an object in v2.
func (u *UsersAPI) list(w http.ResponseWriter, _ *http.Request) {
	items := make([]any, len(people))
	for i, p := range people {
		items[i] = u.shape(p, !u.v1())
	}
	if u.v1() {
		writeJSON(w, http.StatusOK, items)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": items, "total": len(items), "version": 2})
}

// get answers GET /users/{id}, or 404 for an unknown id.
func (u *UsersAPI) get(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	for _, p := range people {
		if p.id == id {
			writeJSON(w, http.StatusOK, u.shape(p, false))
			return
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]string{"error": "no user with id " + id})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
