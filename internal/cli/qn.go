package cli

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/turnout-gw/turnout/qn"
)

// qnCmd groups the QN device protocol tools (package qn, shared/QN.md). They
// use the process-wide field registry, qn.Default().
func qnCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "qn",
		Short: "QN device protocol tools: the field registry as protobuf, frames to and from JSON",
	}
	cmd.AddCommand(qnProtoCmd(), qnDecodeCmd(), qnEncodeCmd())
	return cmd
}

func qnProtoCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "proto",
		Short: "Print the registered QN fields as a Protocol Buffers v3 message",
		Long: "Print the registered QN fields as one proto3 message, so programs in other languages can\n" +
			"carry QN payloads. Field numbers are ns<<16 | id (moved to 1<<24 + that when it is 0 or\n" +
			"in protobuf's reserved 19000-19999): stable, and distinct for every (namespace, id).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return qn.Default().WriteProto(cmd.OutOrStdout())
		},
	}
}

// qnInput reads the whole input: FILE, or standard input for "" and "-".
func qnInput(cmd *cobra.Command, file string) ([]byte, error) {
	if file == "" || file == "-" {
		return io.ReadAll(cmd.InOrStdin())
	}
	return os.ReadFile(file)
}

func qnDecodeCmd() *cobra.Command {
	var file string
	var asHex bool
	cmd := &cobra.Command{
		Use:   "decode [--hex] [-f FILE]",
		Short: "Print QN frames as JSON, one object per line, with field names",
		Long: "Read QN frames (v1 or v2, one after another) from FILE or standard input and print each\n" +
			"as one line of JSON. --hex reads hex text instead of bytes: white space is ignored, and\n" +
			"so is everything from '#' to the end of a line. Unregistered fields, other field versions\n" +
			"and values not of their type are printed as raw hex; `turnout qn encode` reads the output\n" +
			"back to the same bytes. A malformed frame stops the command with its byte offset.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			data, err := qnInput(cmd, file)
			if err != nil {
				return err
			}
			if asHex {
				if data, err = qn.ReadHex(bytes.NewReader(data)); err != nil {
					return err
				}
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetEscapeHTML(false)
			reg := qn.Default()
			for off, i := 0, 0; off < len(data); i++ {
				f, n, err := qn.Parse(data[off:])
				if errors.Is(err, qn.ErrShort) {
					return fmt.Errorf("frame %d at byte %d: truncated: %d bytes left", i, off, len(data)-off)
				}
				if err != nil {
					return fmt.Errorf("frame %d at byte %d: %w", i, off, err)
				}
				if err := enc.Encode(reg.Doc(&f)); err != nil {
					return err
				}
				off += n
			}
			if len(data) == 0 {
				return errors.New("no QN frame in the input")
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "read FILE instead of standard input")
	cmd.Flags().BoolVar(&asHex, "hex", false, "the input is hex text, not bytes")
	return cmd
}

func qnEncodeCmd() *cobra.Command {
	var file, version string
	var asHex bool
	cmd := &cobra.Command{
		Use:   "encode [--version v1|v2] [--hex] [-f FILE]",
		Short: "Write QN frames from JSON (the output of `turnout qn decode`)",
		Long: "Read JSON objects (one after another, as `turnout qn decode` prints them) from FILE or\n" +
			"standard input and write each as a QN frame. A field needs only a name and a value,\n" +
			`e.g. {"type":"DATA","seq":1,"fields":[{"name":"device_id","value":"dev-42"}]};` + "\n" +
			"unregistered fields take ns, id, fver and raw hex. --version sets the version of every\n" +
			"frame (default: each object's \"version\", or v2). --hex writes one line of hex per frame\n" +
			"instead of bytes.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if version != "" {
				v, err := qn.ParseVersion(version)
				if err != nil {
					return fmt.Errorf("--version: %w", err)
				}
				version = v.String()
			}
			data, err := qnInput(cmd, file)
			if err != nil {
				return err
			}
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.DisallowUnknownFields()
			out := cmd.OutOrStdout()
			var frame []byte
			for i := 0; ; i++ {
				var doc qn.FrameDoc
				if err := dec.Decode(&doc); err == io.EOF {
					if i == 0 {
						return errors.New("no JSON frame in the input")
					}
					return nil
				} else if err != nil {
					return fmt.Errorf("frame %d: %w", i, err)
				}
				switch {
				case version != "":
					doc.Version = version
				case doc.Version == "":
					doc.Version = qn.V2.String()
				}
				if frame, err = qn.Default().EncodeDoc(frame[:0], doc); err != nil {
					return fmt.Errorf("frame %d: %w", i, err)
				}
				if asHex {
					_, err = fmt.Fprintln(out, hex.EncodeToString(frame))
				} else {
					_, err = out.Write(frame)
				}
				if err != nil {
					return err
				}
			}
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "read FILE instead of standard input")
	cmd.Flags().StringVar(&version, "version", "", "write every frame in this version: v1 or v2")
	cmd.Flags().BoolVar(&asHex, "hex", false, "write hex text, one frame per line, not bytes")
	return cmd
}
