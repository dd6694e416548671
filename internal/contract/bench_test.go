package contract

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mediumDoc writes an OpenAPI document of about 3,000 lines: 40 resources,
// each with list, create, get, update and delete operations, query
// parameters, and a schema of 10 properties (enums, nested objects, arrays,
// $refs). When breaking, every tenth resource loses a response property,
// changes a type or gains a required request property, and one operation
// is removed.
func mediumDoc(t testing.TB, dir, name string, breaking bool) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("openapi: 3.0.3\ninfo: { title: Medium, version: 1.0.0 }\npaths:\n")
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&b, `  /r%[1]d:
    get:
      operationId: list%[1]d
      parameters:
        - { name: status, in: query, schema: { type: string, enum: [a, b, c] } }
        - { name: limit, in: query, schema: { type: integer, minimum: 1, maximum: 100 } }
      responses:
        "200":
          description: list
          content:
            application/json:
              schema: { type: array, items: { $ref: "#/components/schemas/R%[1]d" } }
    post:
      operationId: create%[1]d
      requestBody:
        required: true
        content:
          application/json:
            schema: { $ref: "#/components/schemas/New%[1]d" }
      responses:
        "201":
          description: created
          content:
            application/json:
              schema: { $ref: "#/components/schemas/R%[1]d" }
  /r%[1]d/{id}:
    parameters:
      - { name: id, in: path, required: true, schema: { type: string } }
    get:
      operationId: get%[1]d
      responses:
        "200":
          description: one
          content:
            application/json:
              schema: { $ref: "#/components/schemas/R%[1]d" }
        "404": { description: missing }
    put:
      operationId: put%[1]d
      requestBody:
        content:
          application/json:
            schema: { $ref: "#/components/schemas/New%[1]d" }
      responses:
        "200": { description: updated }
`, i)
		if !breaking || i != 7 {
			fmt.Fprintf(&b, "    delete:\n      operationId: delete%d\n      responses:\n        \"204\": { description: deleted }\n", i)
		}
	}
	b.WriteString("components:\n  schemas:\n")
	for i := 0; i < 40; i++ {
		brk := breaking && i%10 == 3
		nameProp, countType, required := "        name: { type: string }\n", "integer", "[name]"
		if brk {
			nameProp, countType, required = "", "string", "[name, code]"
		}
		fmt.Fprintf(&b, `    R%[1]d:
      type: object
      required: [id, status]
      properties:
        id: { type: string }
%[2]s        status: { type: string, enum: [active, suspended, deleted] }
        count: { type: %[3]s }
        tags: { type: array, items: { type: string } }
        owner:
          type: object
          properties:
            id: { type: string }
            email: { type: string, format: email }
        created: { type: string, format: date-time }
        score: { type: number, minimum: 0 }
        note: { type: string, nullable: true }
        link: { type: string, format: uri }
    New%[1]d:
      type: object
      required: %[4]s
      properties:
        name: { type: string, maxLength: 100 }
        code: { type: string }
        tags: { type: array, items: { type: string } }
`, i, nameProp, countType, required)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestMediumDocBreaks(t *testing.T) {
	dir := t.TempDir()
	old := mustLoad(t, mediumDoc(t, dir, "old.yaml", false))
	new := mustLoad(t, mediumDoc(t, dir, "new.yaml", true))
	r, err := Compare(old, new)
	if err != nil {
		t.Fatal(err)
	}
	if r.Count(ERR) < 10 {
		t.Fatalf("only %s", r.Summary())
	}
	if r, _ := Compare(old, old); len(r.Items) != 0 {
		t.Fatalf("a document compared with itself: %s", r.Summary())
	}
}

// BenchmarkCompare compares two medium documents (about 3,000 lines each),
// loaded once: what a reload costs when one document changed.
func BenchmarkCompare(b *testing.B) {
	dir := b.TempDir()
	old := mustLoad(b, mediumDoc(b, dir, "old.yaml", false))
	new := mustLoad(b, mediumDoc(b, dir, "new.yaml", true))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compare(old, new); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoad loads, checks and validates one medium document.
func BenchmarkLoad(b *testing.B) {
	path := mediumDoc(b, b.TempDir(), "doc.yaml", false)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(path); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCacheUnchanged is a reload with both documents unchanged: the
// files are re-read and compared byte for byte, nothing is parsed.
func BenchmarkCacheUnchanged(b *testing.B) {
	dir := b.TempDir()
	op, np := mediumDoc(b, dir, "old.yaml", false), mediumDoc(b, dir, "new.yaml", true)
	c := NewCache()
	if _, err := c.Compare(mustLoad(b, op), mustLoad(b, np)); err != nil {
		b.Fatal(err)
	}
	_, _ = c.Load(op)
	_, _ = c.Load(np)
	b.ReportAllocs()
	for b.Loop() {
		old, err := c.Load(op)
		if err != nil {
			b.Fatal(err)
		}
		new, err := c.Load(np)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Compare(old, new); err != nil {
			b.Fatal(err)
		}
	}
}
