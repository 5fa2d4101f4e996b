package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Decode decodes the source's own settings (every key but type and name)
// strictly into v, a non-nil pointer, usually to the backend's config struct
// with yaml tags. Keys absent from the file leave v's fields as they were,
// so v can carry defaults. Unknown keys, wrong types and out-of-range
// numbers are *Error values naming the file, line and key
// (sources[1].tls.ca_file); v may be partly filled then.
//
// Supported: strings (any scalar), bools, ints, uints, floats,
// time.Duration ("15s"), slices, arrays, string-keyed maps, structs (yaml
// tags, ",inline" structs and maps), pointers to those, interfaces (any),
// yaml.Node, and types implementing yaml.Unmarshaler or
// encoding.TextUnmarshaler. Their error text is passed on with the
// setting's values redacted.
func (s Source) Decode(v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("config: Source.Decode needs a non-nil pointer, not %T", v)
	}
	if s.settings.Kind == 0 {
		return nil // a Source not read from a file has no settings
	}
	d := &decoder{file: s.file, budget: maxValues}
	if err := d.value(&s.settings, rv.Elem(), s.key(), 0); err != nil {
		return err
	}
	return nil
}

// Errorf makes an *Error about one of the source's settings, for a
// backend's own checks ("url is required"): key is the setting's dotted path
// (e.g. "url" or "tls.ca_file", "" for the whole source). The line is the
// key's when the file has it, otherwise the entry's. Keep values out of msg.
func (s Source) Errorf(key, format string, args ...any) *Error {
	line, full := s.Line, s.key()
	if key != "" {
		full += "." + key
		switch n := s.lookup(key); {
		case n != nil:
			line = n.Line
		case key == "type" && s.typeLine > 0:
			line = s.typeLine
		case key == "name" && s.nameLine > 0:
			line = s.nameLine
		}
	}
	return &Error{File: s.file, Line: line, Key: full, Msg: fmt.Sprintf(format, args...)}
}

// Keys lists the source's setting keys (not type and name) in file order.
func (s Source) Keys() []string {
	var keys []string
	for i := 0; i+1 < len(s.settings.Content); i += 2 {
		if k := s.settings.Content[i]; k.Kind == yaml.ScalarNode {
			keys = append(keys, k.Value)
		}
	}
	return keys
}

func (s Source) key() string { return "sources[" + strconv.Itoa(s.index) + "]" }

// lookup finds the key node of a dotted path in the settings.
func (s Source) lookup(path string) *yaml.Node {
	n := &s.settings
	var found *yaml.Node
	for part := range strings.SplitSeq(path, ".") {
		for hops := 0; n != nil && n.Kind == yaml.AliasNode && hops < maxDepth; hops++ {
			n = n.Alias
		}
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		found = nil
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.Value == part {
				found, n = k, n.Content[i+1]
				break
			}
		}
		if found == nil {
			return nil
		}
	}
	return found
}
