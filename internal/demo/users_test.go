package demo

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func serve(h http.Handler, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

func TestUsersShapes(t *testing.T) {
	v1, v2 := Users("v1"), Users("v2")
	tests := []struct {
		name   string
		h      *UsersAPI
		path   string
		status int
		body   string
	}{
		{"v1 user", v1, "/users/1", 200, `{"id":"1","name":"Ada Lovelace","email":"ada@example.com"}`},
		{"v2 user", v2, "/users/1", 200, `{"id":"1","name":{"first":"Ada","last":"Lovelace"},"contact":{"email":"ada@example.com"},"version":2}`},
		{"v1 other user", v1, "/users/3", 200, `{"id":"3","name":"Grace Hopper","email":"grace@example.com"}`},
		{"v1 unknown", v1, "/users/42", 404, `{"error":"no user with id 42"}`},
		{"v2 unknown", v2, "/users/42", 404, `{"error":"no user with id 42"}`},
		{"v1 health", v1, "/healthz", 200, `{"status":"ok","version":"v1"}`},
		{"v2 health", v2, "/healthz", 200, `{"status":"ok","version":"v2"}`},
		{"no such path", v1, "/orders", 404, `{"error":"no such resource: /orders"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(tc.h, tc.path)
			if rec.Code != tc.status || strings.TrimSpace(rec.Body.String()) != tc.body {
				t.Fatalf("GET %s = %d %s; want %d %s", tc.path, rec.Code, rec.Body, tc.status, tc.body)
			}
			if got := rec.Header().Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q", got)
			}
			if got := rec.Header().Get("X-Sample-Version"); got != tc.h.Version {
				t.Errorf("X-Sample-Version = %q; want %q", got, tc.h.Version)
			}
		})
	}
}

func TestUsersLists(t *testing.T) {
	var list1 []map[string]any
	if err := json.Unmarshal(serve(Users("v1"), "/users").Body.Bytes(), &list1); err != nil {
		t.Fatalf("v1 list: %v", err)
	}
	if len(list1) != len(people) || list1[0]["name"] != "Ada Lovelace" {
		t.Fatalf("v1 list = %v", list1)
	}
	var list2 struct {
		Users []struct {
			Name    map[string]string `json:"name"`
			Version *int              `json:"version"`
		} `json:"users"`
		Total   int `json:"total"`
		Version int `json:"version"`
	}
	rec := serve(Users("v2"), "/users/")
	if err := json.Unmarshal(rec.Body.Bytes(), &list2); err != nil {
		t.Fatalf("v2 list: %v (%s)", err, rec.Body)
	}
	if list2.Total != len(people) || len(list2.Users) != len(people) || list2.Version != 2 ||
		list2.Users[0].Name["first"] != "Ada" || list2.Users[0].Version != nil {
		t.Fatalf("v2 list = %s", rec.Body)
	}
}

func TestUsersFailingAndCounting(t *testing.T) {
	u := Users("v2")
	serve(u, "/healthz")
	serve(u, "/users/1")
	if got := u.Requests.Load(); got != 1 {
		t.Fatalf("Requests = %d after one API request and one health check; want 1", got)
	}
	u.Failing.Store(true)
	if rec := serve(u, "/users/1"); rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "failing on purpose") {
		t.Fatalf("failing GET /users/1 = %d %s; want 500", rec.Code, rec.Body)
	}
	if rec := serve(u, "/healthz"); rec.Code != http.StatusOK {
		t.Fatalf("failing GET /healthz = %d; want 200 (the health check stays green)", rec.Code)
	}
	u.Failing.Store(false)
	if rec := serve(u, "/users/1"); rec.Code != http.StatusOK {
		t.Fatalf("recovered GET /users/1 = %d", rec.Code)
	}
	if got := u.Requests.Load(); got != 3 {
		t.Fatalf("Requests = %d; want 3", got)
	}
}
