package config

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/podexporter/podexporter/internal/setting"
)

var update = flag.Bool("update", false, "rewrite the settings table in docs/configuration.md")

const configDoc = "../../../../docs/configuration.md"

// The table in docs/configuration.md is the declarations' own: make docs writes it.
func TestSettingsDocUpToDate(t *testing.T) {
	old, err := os.ReadFile(configDoc)
	if err != nil {
		t.Fatal(err)
	}
	want, ok := WithTable(string(old))
	if !ok {
		t.Fatalf("%s lacks the settings table's markers", configDoc)
	}
	if *update {
		if err := os.WriteFile(configDoc, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if want != string(old) {
		t.Fatalf("%s: the settings table is stale: run 'make docs' and commit the result", configDoc)
	}
}

// Every declared setting is a flag, a key the file accepts (unless it has none) and a
// row of the docs, and the three agree: the file's key, given the flag's default,
// yields the same value as the flag given it.
func TestEverySettingEverywhere(t *testing.T) {
	doc, err := os.ReadFile(configDoc)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keys := map[string]string{}
	for _, d := range Settings() {
		t.Run(d.Flag, func(t *testing.T) {
			if !strings.Contains(string(doc), "| "+flagCell(d)+" | "+code(d.Key)+" |") {
				t.Errorf("docs/configuration.md has no row for %s with key %s", d.Flag, d.Key)
			}
			if d.Key == "" {
				return
			}
			if other, dup := keys[d.Key]; dup {
				t.Fatalf("key %s is both %s's and %s's", d.Key, other, d.Flag)
			}
			keys[d.Key] = d.Flag
			section, name, _ := strings.Cut(d.Key, ".")
			value := fmt.Sprintf("%q", d.Default)
			if d.Kind == setting.Strings {
				quoted := make([]string, len(d.Defaults))
				for i, v := range d.Defaults {
					quoted[i] = fmt.Sprintf("%q", v)
				}
				value = "[" + strings.Join(quoted, ", ") + "]"
			}
			// The other settings a valid configuration on this machine needs, unless
			// they are the one under test.
			base := func(args ...string) []string {
				for _, a := range []string{"--podman.socket=" + RootfulSocket, "--state.directory=" + dir} {
					if !strings.HasPrefix(a, "--"+d.Flag+"=") {
						args = append(args, a)
					}
				}
				return args
			}
			file := writeFile(t, "settings.yml", fmt.Sprintf("%s:\n  %s: %s\n", section, name, value))
			fromFile, err := Parse(base("--config.file="+file), nil, "test", testEnv(nil))
			if err != nil {
				t.Fatalf("%s from the file: %v", d.Key, err)
			}
			var args []string
			switch d.Kind {
			case setting.Strings:
				for _, v := range d.Defaults {
					args = append(args, "--"+d.Flag+"="+v)
				}
			case setting.Bool:
				args = append(args, map[string]string{"true": "--", "false": "--no-"}[d.Default]+d.Flag)
			default:
				args = append(args, "--"+d.Flag+"="+d.Default)
			}
			fromFlag, err := Parse(base(args...), nil, "test", testEnv(nil))
			if err != nil {
				t.Fatalf("--%s: %v", d.Flag, err)
			}
			a, b := valueOf(fromFile, d.Flag), valueOf(fromFlag, d.Flag)
			if a != b {
				t.Errorf("%s in the file gives %q, --%s gives %q", d.Key, a, d.Flag, b)
			}
		})
	}
}

// valueOf is the text of one setting of a parsed configuration.
func valueOf(c *Config, flag string) string {
	s := declare(c)
	d, _ := s.Lookup(flag)
	return d.String()
}
