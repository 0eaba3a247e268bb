package config

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/podexporter/podexporter/internal/setting"
)

// loadFile applies the YAML file at path: a mapping of sections (web, podman, journal,
// ...) whose keys are the declared settings' keys, and collectors: name: true/false.
// A key a flag already set is left alone; an unknown key is refused with the nearest
// known one as the fix.
func loadFile(path string, decls *setting.Set, set map[string]*bool, collectors map[string]bool) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return &Error{Setting: "--config.file", Problem: err.Error(), Fix: "give the path of a readable YAML file, or leave the flag out"}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return &Error{Setting: "--config.file " + path, Problem: strings.TrimPrefix(err.Error(), "yaml: "), Fix: "correct the YAML (see docs/configuration.md for the keys)"}
	}
	if len(doc.Content) == 0 {
		return nil // an empty file sets nothing
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return &Error{Setting: fmt.Sprintf("%s line %d", path, root.Line), Problem: "not a mapping of sections", Fix: "write sections such as web:, podman:, journal: (see docs/configuration.md)"}
	}
	byKey := map[string]*setting.Setting{}
	sections := map[string][]string{"collectors": nil}
	for _, d := range decls.All() {
		if d.Key == "" {
			continue
		}
		byKey[d.Key] = d
		section, name, _ := strings.Cut(d.Key, ".")
		sections[section] = append(sections[section], name)
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		sk, sv := root.Content[i], root.Content[i+1]
		names, known := sections[sk.Value]
		if !known {
			return unknownKey(path, sk, slices.Collect(maps.Keys(sections)))
		}
		if sv.Tag == "!!null" {
			continue
		}
		if sv.Kind != yaml.MappingNode {
			return &Error{Setting: fmt.Sprintf("%s in %s line %d", sk.Value, path, sv.Line), Problem: "not a mapping of keys", Fix: "indent the section's keys under it (see docs/configuration.md)"}
		}
		for j := 0; j+1 < len(sv.Content); j += 2 {
			k, v := sv.Content[j], sv.Content[j+1]
			where := fmt.Sprintf("%s.%s in %s line %d", sk.Value, k.Value, path, v.Line)
			if sk.Value == "collectors" {
				if err := fileCollector(k.Value, v, where, path, set, collectors); err != nil {
					return err
				}
				continue
			}
			d, ok := byKey[sk.Value+"."+k.Value]
			if !ok {
				return unknownKey(path, k, names)
			}
			if *set[d.Flag] || v.Tag == "!!null" {
				continue
			}
			if err := fileValue(d, v, where); err != nil {
				return err
			}
		}
	}
	return nil
}

// fileValue sets d from the YAML value n: a list for a repeatable setting, a scalar
// for any other.
func fileValue(d *setting.Setting, n *yaml.Node, where string) error {
	var texts []string
	switch {
	case d.Kind == setting.Strings && n.Kind == yaml.SequenceNode:
		for _, e := range n.Content {
			if e.Kind != yaml.ScalarNode {
				return &Error{Setting: where, Problem: "a list entry is not a plain value", Fix: "write one value per entry, such as - web"}
			}
			texts = append(texts, e.Value)
		}
	case d.Kind != setting.Strings && n.Kind == yaml.ScalarNode:
		texts = []string{n.Value}
	case d.Kind == setting.Strings:
		return &Error{Setting: where, Problem: "not a list", Fix: "write a list, one entry per line starting with - , or [a, b]"}
	default:
		return &Error{Setting: where, Problem: "not a single value", Fix: "write one value, such as 10s, 1000 or true"}
	}
	err := d.Replace(texts)
	var se *Error
	if errors.As(err, &se) {
		se.Setting = where // the file's key and line, not the flag
	}
	if err == nil {
		d.From = setting.FromFile
	}
	return err
}

// fileCollector applies collectors: NAME: true/false.
func fileCollector(name string, n *yaml.Node, where, path string, set map[string]*bool, collectors map[string]bool) error {
	if _, known := collectors[name]; !known {
		return &Error{Setting: "collectors." + name + " in " + path, Problem: "no collector of that name", Fix: "use one of: " + strings.Join(sortedKeys(collectors), ", ")}
	}
	if n.Tag == "!!null" || *set["collector."+name] {
		return nil
	}
	on, err := strconv.ParseBool(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		return &Error{Setting: where, Problem: fmt.Sprintf("%q is not true or false", n.Value), Fix: "write true or false"}
	}
	collectors[name] = on
	return nil
}

// unknownKey reports a key the file may not hold, suggesting the nearest of known.
func unknownKey(path string, k *yaml.Node, known []string) error {
	fix := "remove it or correct its spelling (see docs/configuration.md)"
	if s := closestKey(k.Value, known); s != "" {
		fix = fmt.Sprintf("did you mean %q? (see docs/configuration.md)", s)
	}
	return &Error{Setting: fmt.Sprintf("%s line %d", path, k.Line), Problem: fmt.Sprintf("unknown key %q", k.Value), Fix: fix}
}

func closestKey(bad string, known []string) string {
	best, bestDist := "", 4
	slices.Sort(known)
	for _, k := range known {
		if d := editDistance(bad, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
