package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/heraldhq/herald/agent/butlerimport"
	"github.com/spf13/cobra"
)

func newImportCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Convert another tool's alerting config into a herald.toml",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newImportButlerCmd())
	return cmd
}

func newImportButlerCmd() *cobra.Command {
	var (
		outDir        string
		inlineSecrets bool
		force         bool
	)
	cmd := &cobra.Command{
		Use:   "butler BUTLER.yaml",
		Short: "Convert a Butler config's SIGNL4 and reload task webhooks into a herald.toml",
		Long: `Import reads a Butler config file (github.com/ptarmiganlabs/butler) and writes the
Herald equivalent of its SIGNL4 integration and its outgoing webhooks for failed
and aborted reload tasks: a herald.toml with a SIGNL4 sink and a webhook sink per
Butler webhook (format "butler", so receivers keep working), and rules/butler.toml,
copies of the qliksense pack's rules routed and rate-limited per event as Butler was.

Without --out both files are printed on stdout, the rules after the line
  ` + butlerimport.Separator + `
With --out DIR they are written to DIR/herald.toml and DIR/` + butlerimport.RulesFile + `.

Secrets in URLs (the SIGNL4 team secret, webhook passwords, query parameters such
as sig, code or token) become ${VAR} references unless --inline-secrets is given.
Stderr lists the environment variables to set, and every Butler setting that was
not carried over or behaves differently in Herald, one line each with its key.
Use - to read the Butler config from stdin.`,
		Example: `  herald import butler 'C:\Program Files\Butler\config\production.yaml'
  herald import butler production.yaml --out 'C:\ProgramData\Herald'`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError(fmt.Errorf("import butler: expected the Butler config file as the one argument, got %d arguments", len(args)))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			src := args[0]
			var data []byte
			var err error
			if src == "-" {
				src = "stdin"
				data, err = io.ReadAll(cmd.InOrStdin())
			} else {
				data, err = os.ReadFile(src)
			}
			if err != nil {
				return usageError(fmt.Errorf("reading the Butler config: %w", err))
			}
			res, err := butlerimport.Convert(data, butlerimport.Options{Source: src, InlineSecrets: inlineSecrets})
			if err != nil {
				return usageError(err)
			}
			stderr := cmd.ErrOrStderr()
			if outDir == "" {
				if _, err := cmd.OutOrStdout().Write(res.Document()); err != nil {
					return err
				}
			} else {
				written, err := writeImport(outDir, res, inlineSecrets, force)
				if err != nil {
					return err
				}
				for _, p := range written {
					fmt.Fprintln(stderr, "wrote", p)
				}
			}
			for _, m := range res.Messages() {
				fmt.Fprintln(stderr, m)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&outDir, "out", "o", "", "write herald.toml and "+butlerimport.RulesFile+" into this directory instead of printing them")
	cmd.Flags().BoolVar(&inlineSecrets, "inline-secrets", false, "write secrets found in URLs into the files instead of ${VAR} references")
	cmd.Flags().BoolVar(&force, "force", false, "with --out, overwrite files that exist")
	return cmd
}

// writeImport writes the converted files under dir. Existing files are left
// alone (and nothing is written) unless force is set. Files holding inlined
// secrets are readable by their owner only.
func writeImport(dir string, res *butlerimport.Result, secrets, force bool) ([]string, error) {
	files := []struct {
		path string
		data []byte
	}{{filepath.Join(dir, "herald.toml"), res.Config}}
	if res.Rules != nil {
		files = append(files, struct {
			path string
			data []byte
		}{filepath.Join(dir, filepath.FromSlash(butlerimport.RulesFile)), res.Rules})
	}
	if !force {
		for _, f := range files {
			if _, err := os.Stat(f.path); err == nil {
				return nil, usageError(fmt.Errorf("%s exists; use --force to overwrite it", f.path))
			} else if !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("checking %s: %w", f.path, err)
			}
		}
	}
	perm := fs.FileMode(0o644)
	if secrets {
		perm = 0o600
	}
	var written []string
	for _, f := range files {
		if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
			return written, fmt.Errorf("creating %s: %w", filepath.Dir(f.path), err)
		}
		if err := os.WriteFile(f.path, f.data, perm); err != nil {
			return written, fmt.Errorf("writing %s: %w", f.path, err)
		}
		written = append(written, f.path)
	}
	return written, nil
}
