package contract

import (
	"slices"
	"strings"
	"testing"
)

func compare(t testing.TB, old, new string) *Report {
	t.Helper()
	r, err := Compare(mustLoad(t, "testdata/"+old), mustLoad(t, "testdata/"+new))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestCompareFindsBreakingChanges: each pair's breaking (ERR) rule IDs.
func TestCompareFindsBreakingChanges(t *testing.T) {
	for _, c := range []struct {
		old, new string
		want     []string
	}{
		{"removed_response_field/old.yaml", "removed_response_field/new.yaml", []string{"response-required-property-removed"}},
		{"type_change/old.yaml", "type_change/new.yaml", []string{"response-property-type-changed"}},
		{"new_required_request_field/old.yaml", "new_required_request_field/new.yaml", []string{"new-required-request-property"}},
		{"removed_enum_value/old.yaml", "removed_enum_value/new.yaml", []string{"request-parameter-enum-value-removed"}},
		{"removed_operation/old.yaml", "removed_operation/new.yaml", []string{"api-removed-without-deprecation"}},
		{"compatible_addition/old.yaml", "compatible_addition/new.yaml", nil},
		{"openapi31/old.yaml", "openapi31/new.json", []string{"request-parameter-type-changed", "response-required-property-removed"}},
		{"mixed_30_31/old.yaml", "mixed_30_31/new.yaml", nil},
		{"file_refs/old/openapi.yaml", "file_refs/new/openapi.yaml", []string{"response-property-type-changed"}},
	} {
		r := compare(t, c.old, c.new)
		var got []string
		for _, it := range r.AtLeast(ERR) {
			if !slices.Contains(got, it.ID) {
				got = append(got, it.ID)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, c.want) || r.Breaking(ERR) != (len(c.want) > 0) {
			t.Errorf("%s → %s: ERR rules %v, want %v", c.old, c.new, got, c.want)
		}
		for _, it := range r.Items {
			if it.Source == nil && it.ID != "api-version-not-bumped" {
				t.Errorf("%s: item without a source: %v", c.old, it)
			}
		}
	}
}

// TestCompareMixedVersionsLeavesDocumentsAlone: a 3.0/3.1 pair is compared
// in the 3.1 form without touching the loaded documents.
func TestCompareMixedVersionsLeavesDocumentsAlone(t *testing.T) {
	old, new := mustLoad(t, "testdata/mixed_30_31/old.yaml"), mustLoad(t, "testdata/mixed_30_31/new.yaml")
	if _, err := Compare(old, new); err != nil {
		t.Fatal(err)
	}
	note := old.Spec.Paths.Value("/orders/{id}").Get.Responses.Value("200").Value.Content["application/json"].Schema.Value.Properties["note"].Value
	if old.OpenAPI() != "3.0.3" || !note.Nullable {
		t.Fatalf("the 3.0 document was modified: openapi %s, nullable %v", old.OpenAPI(), note.Nullable)
	}
}

func TestReportSummaryAndReason(t *testing.T) {
	r := compare(t, "removed_response_field/old.yaml", "removed_response_field/new.yaml")
	if s := r.Summary(); s != "3 errors, 0 warnings, 0 info" {
		t.Errorf("summary %q", s)
	}
	reason := r.Reason(ERR, 2)
	if !strings.HasPrefix(reason, "3 breaking changes: GET /users: removed the required property") || !strings.HasSuffix(reason, "; and 1 more") {
		t.Errorf("reason %q", reason)
	}
	if r := compare(t, "compatible_addition/old.yaml", "compatible_addition/new.yaml"); r.Reason(ERR, 3) != "" || r.Breaking(WARN) || !r.Breaking(INFO) {
		t.Errorf("compatible pair: reason %q", r.Reason(ERR, 3))
	}
	if r := compare(t, "openapi31/old.yaml", "openapi31/new.json"); r.Count(WARN) != 1 || !r.Breaking(WARN) {
		t.Errorf("openapi31: %s", r.Summary())
	}
}
