package cli

import (
	"bytes"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/turnout-gw/turnout/qn"
)

var updateQN = flag.Bool("update-qn", false, "rewrite internal/cli/testdata/qn/*.golden")

// qnVectors are the protocol's golden frames, hand-annotated from QN.md.
const qnVectors = "../../qn/testdata/vectors"

var qnVectorNames = []string{"v1_data_core", "v1_unknown", "v1_ack_empty", "v2_data_core", "v2_data_mixed", "v2_error", "v2_pong_qos2"}

// runQN runs `turnout qn ARGS` with stdin and returns stdout and the error.
func runQN(t *testing.T, stdin []byte, args ...string) (string, error) {
	t.Helper()
	cmd := qnCmd()
	var out bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetIn(bytes.NewReader(stdin))
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.Execute()
	return out.String(), err
}

func qnGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "qn", name)
	if *updateQN {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run QN -update-qn writes it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- got\n%s--- want\n%s", name, got, want)
	}
}

// qnStream is every vector, concatenated: as hex text and as bytes.
func qnStream(t *testing.T) (string, []byte) {
	t.Helper()
	var text strings.Builder
	for _, name := range qnVectorNames {
		b, err := os.ReadFile(filepath.Join(qnVectors, name+".hex"))
		if err != nil {
			t.Fatal(err)
		}
		text.Write(b)
	}
	raw, err := qn.ReadHex(strings.NewReader(text.String()))
	if err != nil {
		t.Fatal(err)
	}
	return text.String(), raw
}

func TestQNProto(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := Main([]string{"qn", "proto"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	qnGolden(t, "proto.golden", out.String())
}

func TestQNDecode(t *testing.T) {
	text, raw := qnStream(t)
	fromHex, err := runQN(t, []byte(text), "decode", "--hex")
	if err != nil {
		t.Fatal(err)
	}
	qnGolden(t, "decode.golden", fromHex)
	// The same frames as bytes, from a file through Main.
	file := filepath.Join(t.TempDir(), "frames.bin")
	if err := os.WriteFile(file, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := Main([]string{"qn", "decode", "-f", file}, &out, &errOut); code != 0 || out.String() != fromHex {
		t.Fatalf("decode -f FILE: exit %d %s\n%s", code, errOut.String(), out.String())
	}
}

// TestQNRoundTrip: decode then encode gives back the input bytes, and
// --version translates a v1-only frame to its v2 vector.
func TestQNRoundTrip(t *testing.T) {
	text, raw := qnStream(t)
	js, err := runQN(t, []byte(text), "decode", "--hex")
	if err != nil {
		t.Fatal(err)
	}
	bin, err := runQN(t, []byte(js), "encode")
	if err != nil || bin != string(raw) {
		t.Fatalf("decode | encode: %v\n got % x\nwant % x", err, bin, raw)
	}
	v1core, _ := os.ReadFile(filepath.Join(qnVectors, "v1_data_core.hex"))
	v2core, _ := os.ReadFile(filepath.Join(qnVectors, "v2_data_core.hex"))
	js, _ = runQN(t, v1core, "decode", "--hex")
	got, err := runQN(t, []byte(js), "encode", "--version", "v2", "--hex")
	want, _ := qn.ReadHex(bytes.NewReader(v2core))
	if err != nil || got != hex.EncodeToString(want)+"\n" {
		t.Fatalf("encode --version v2: %v\n got %s\nwant %x", err, got, want)
	}
}

func TestQNEncode(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "qn", "encode.json"))
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, args := range [][]string{{"encode", "--hex"}, {"encode", "--hex", "--version", "v1"}} {
		out, err := runQN(t, in, args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		all.WriteString("$ turnout qn " + strings.Join(args, " ") + " < encode.json\n" + out)
	}
	qnGolden(t, "encode.golden", all.String())
}

func TestQNErrors(t *testing.T) {
	_, raw := qnStream(t)
	var all strings.Builder
	for _, tc := range []struct {
		stdin string
		args  []string
	}{
		{"", []string{"decode"}},
		{"GET / HTTP/1.1\r\n", []string{"decode"}},
		{string(raw[:len(raw)-3]), []string{"decode"}},
		{"01 01 00 00 00 03 01 02 00", []string{"decode", "--hex"}},
		{"0x01", []string{"decode", "--hex"}},
		{`{"type":"DATA","fields":[{"name":"nope","value":1}]}`, []string{"encode"}},
		{`{"type":"DATA","fields":[{"ns":1,"id":1,"raw":"00"}]}`, []string{"encode", "--version", "v1"}},
		{`{"type":"DATA","seq":70000}`, []string{"encode", "--version", "v1"}},
		{`{"type":"DATA","sequence":1}`, []string{"encode"}},
		{`{"type":"DATA"}`, []string{"encode", "--version", "v3"}},
		{"", []string{"encode"}},
	} {
		_, err := runQN(t, []byte(tc.stdin), tc.args...)
		if err == nil {
			t.Errorf("%v with %q: no error", tc.args, tc.stdin)
			continue
		}
		all.WriteString("$ turnout qn " + strings.Join(tc.args, " ") + "\n" + err.Error() + "\n")
	}
	qnGolden(t, "errors.golden", all.String())
}
