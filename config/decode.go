package config

import (
	"encoding"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

// Limits that keep hostile files (alias bombs, alias cycles) cheap.
const (
	maxDepth  = 64      // nesting of values, merges and alias hops
	maxValues = 100_000 // values visited in one Parse or Decode
)

// decoder walks yaml.Node trees into Go values. Every error it makes is an
// *Error naming file, line and key, and never includes a value.
type decoder struct {
	file   string
	budget int
}

func (d *decoder) errf(pos *yaml.Node, key, format string, args ...any) *Error {
	line := 0
	if pos != nil {
		line = pos.Line
	}
	return &Error{File: d.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)}
}

// resolve follows aliases from pos; errors are reported at pos, where the
// value appears in the file.
func (d *decoder) resolve(pos *yaml.Node, key string, depth int) (*yaml.Node, *Error) {
	n := pos
	for hops := 0; n != nil && n.Kind == yaml.AliasNode; hops++ {
		if hops > maxDepth || depth > maxDepth {
			return nil, d.errf(pos, key, "aliases nested too deeply")
		}
		n = n.Alias
	}
	if n == nil {
		return nil, d.errf(pos, key, "alias to nothing")
	}
	return n, nil
}

func isNull(n *yaml.Node) bool {
	return n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// pair is one key of a mapping, in file order, or the error found there.
type pair struct {
	name     string
	key, val *yaml.Node
	err      *Error
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// mapping lists the keys of mapping n in file order with merge keys
// (<<: *anchor) expanded: explicit keys win over merged ones, earlier merges
// over later ones. Problems (duplicate keys, non-string keys, bad merges)
// come back as pairs with err set, at their place in the order, so the
// caller reports the first problem in the file.
func (d *decoder) mapping(n *yaml.Node, path string, depth int) []pair {
	if depth > maxDepth {
		return []pair{{err: d.errf(n, path, "merges nested too deeply")}}
	}
	explicit := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.ShortTag() != "!!merge" {
			explicit[k.Value] = true
		}
	}
	var out []pair
	firstLine := map[string]int{}
	merged := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		d.budget--
		if d.budget < 0 {
			return append(out, pair{err: d.errf(n.Content[i], path, "too many values (excessive aliasing?)")})
		}
		kpos, vpos := n.Content[i], n.Content[i+1]
		k, err := d.resolve(kpos, path, depth)
		if err != nil {
			out = append(out, pair{err: err})
			continue
		}
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			for _, m := range d.mergeSources(vpos, path, depth) {
				if m.err != nil {
					out = append(out, m)
					continue
				}
				for _, p := range d.mapping(m.val, path, depth+1) {
					if p.err != nil {
						out = append(out, p)
						continue
					}
					if explicit[p.name] || merged[p.name] {
						continue
					}
					merged[p.name] = true
					out = append(out, p)
				}
			}
			continue
		}
		if k.Kind != yaml.ScalarNode {
			out = append(out, pair{err: d.errf(kpos, path, "keys must be plain strings")})
			continue
		}
		name := k.Value
		if first, dup := firstLine[name]; dup {
			out = append(out, pair{err: d.errf(kpos, join(path, name), "duplicate key (first at line %d)", first)})
			continue
		}
		firstLine[name] = kpos.Line
		out = append(out, pair{name: name, key: kpos, val: vpos})
	}
	return out
}

// mergeSources lists the mappings a merge key's value names: one mapping or
// a list of them. Each comes back in a pair's val (or as an error).
func (d *decoder) mergeSources(vpos *yaml.Node, path string, depth int) []pair {
	v, err := d.resolve(vpos, path, depth)
	if err != nil {
		return []pair{{err: err}}
	}
	bad := pair{err: d.errf(vpos, join(path, "<<"), "a merge must name a mapping or a list of mappings")}
	switch v.Kind {
	case yaml.MappingNode:
		return []pair{{val: v}}
	case yaml.SequenceNode:
		out := make([]pair, 0, len(v.Content))
		for _, c := range v.Content {
			m, err := d.resolve(c, path, depth)
			if err != nil {
				return []pair{{err: err}}
			}
			if m.Kind != yaml.MappingNode {
				return []pair{bad}
			}
			out = append(out, pair{val: m})
		}
		return out
	}
	return []pair{bad}
}

// unknownKey reports key (its full path) as unknown, suggesting the closest
// of known or listing them.
func (d *decoder) unknownKey(pos *yaml.Node, key string, known []string) *Error {
	name := key[strings.LastIndex(key, ".")+1:]
	if s := suggest(name, known); s != "" {
		return d.errf(pos, key, "unknown key, did you mean %q?", s)
	}
	if len(known) == 0 {
		return d.errf(pos, key, "unknown key (this source takes no settings)")
	}
	return d.errf(pos, key, "unknown key (known keys: %s)", strings.Join(known, ", "))
}

var (
	durationType    = reflect.TypeFor[time.Duration]()
	nodeType        = reflect.TypeFor[yaml.Node]()
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	textType        = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// value decodes the node at pos into v (settable). key is the path for
// errors.
func (d *decoder) value(pos *yaml.Node, v reflect.Value, key string, depth int) *Error {
	d.budget--
	if d.budget < 0 {
		return d.errf(pos, key, "too many values (excessive aliasing?)")
	}
	if depth > maxDepth {
		return d.errf(pos, key, "nested too deeply")
	}
	n, err := d.resolve(pos, key, depth)
	if err != nil {
		return err
	}
	if !v.CanSet() {
		return d.errf(pos, key, "cannot set Go field of type %s", v.Type())
	}
	t := v.Type()
	if isNull(n) {
		// Like yaml.v3: null empties pointers, maps, slices and interfaces
		// and leaves everything else (defaults) alone.
		switch t.Kind() {
		case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
			v.SetZero()
		}
		return nil
	}
	if t == nodeType {
		v.Set(reflect.ValueOf(*n))
		return nil
	}
	if t != durationType && t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(unmarshalerType) {
		u := v.Addr().Interface().(yaml.Unmarshaler)
		if err := u.UnmarshalYAML(n); err != nil {
			return d.errf(pos, key, "%s", redact(err.Error(), n))
		}
		return nil
	}
	if t != durationType && t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(textType) {
		if n.Kind != yaml.ScalarNode {
			return d.errf(pos, key, "must be a single value, not a %s", kindName(n))
		}
		u := v.Addr().Interface().(encoding.TextUnmarshaler)
		if err := u.UnmarshalText([]byte(n.Value)); err != nil {
			return d.errf(pos, key, "%s", redact(err.Error(), n))
		}
		return nil
	}
	if t == durationType {
		if n.Kind == yaml.ScalarNode {
			if dur, err := time.ParseDuration(n.Value); err == nil {
				v.SetInt(int64(dur))
				return nil
			}
		}
		return d.errf(pos, key, "must be a duration like 15s or 1m30s")
	}
	switch t.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		return d.value(pos, v.Elem(), key, depth+1)
	case reflect.Interface:
		if t.NumMethod() != 0 {
			return d.errf(pos, key, "cannot decode into Go type %s", t)
		}
		var x any
		if err := n.Decode(&x); err != nil {
			return d.errf(pos, key, "invalid value (%s)", redact(err.Error(), n))
		}
		if x == nil {
			v.SetZero()
		} else {
			v.Set(reflect.ValueOf(x))
		}
		return nil
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			return d.errf(pos, key, "must be a string, not a %s", kindName(n))
		}
		v.SetString(n.Value)
		return nil
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			return d.errf(pos, key, "must be true or false")
		}
		v.SetBool(b)
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var i int64
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil {
			return d.errf(pos, key, "must be an integer")
		}
		if v.OverflowInt(i) {
			return d.errf(pos, key, "is out of range for %s", t)
		}
		v.SetInt(i)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
			return d.errf(pos, key, "must be an integer")
		}
		var u uint64
		if i := int64(0); n.Decode(&i) == nil {
			if i < 0 {
				return d.errf(pos, key, "must not be negative")
			}
			u = uint64(i)
		} else if n.Decode(&u) != nil {
			return d.errf(pos, key, "must be an integer")
		}
		if v.OverflowUint(u) {
			return d.errf(pos, key, "is out of range for %s", t)
		}
		v.SetUint(u)
		return nil
	case reflect.Float32, reflect.Float64:
		var f float64
		tag := n.ShortTag()
		if n.Kind != yaml.ScalarNode || (tag != "!!int" && tag != "!!float") || n.Decode(&f) != nil {
			return d.errf(pos, key, "must be a number")
		}
		if !math.IsInf(f, 0) && v.OverflowFloat(f) {
			return d.errf(pos, key, "is out of range for %s", t)
		}
		v.SetFloat(f)
		return nil
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return d.errf(pos, key, "must be a list, not a %s", kindName(n))
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, c := range n.Content {
			if err := d.value(c, s.Index(i), key+"["+strconv.Itoa(i)+"]", depth+1); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	case reflect.Array:
		if n.Kind != yaml.SequenceNode || len(n.Content) != t.Len() {
			return d.errf(pos, key, "must be a list of %d items", t.Len())
		}
		for i, c := range n.Content {
			if err := d.value(c, v.Index(i), key+"["+strconv.Itoa(i)+"]", depth+1); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return d.errf(pos, key, "cannot decode into Go type %s (map keys must be strings)", t)
		}
		if n.Kind != yaml.MappingNode {
			return d.errf(pos, key, "must be a mapping, not a %s", kindName(n))
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(t))
		}
		return d.mapEntries(n, v, key, depth, nil)
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return d.errf(pos, key, "must be a mapping, not a %s", kindName(n))
		}
		return d.structFields(n, v, key, depth)
	}
	return d.errf(pos, key, "cannot decode into Go type %s", t)
}

// mapEntries decodes mapping n into map m; skip lists keys handled elsewhere
// (an inline map's struct fields).
func (d *decoder) mapEntries(n *yaml.Node, m reflect.Value, key string, depth int, skip map[string]field) *Error {
	t := m.Type()
	for _, p := range d.mapping(n, key, depth) {
		if p.err != nil {
			return p.err
		}
		if _, ok := skip[p.name]; ok {
			continue
		}
		elem := reflect.New(t.Elem()).Elem()
		if err := d.value(p.val, elem, join(key, p.name), depth+1); err != nil {
			return err
		}
		m.SetMapIndex(reflect.ValueOf(p.name).Convert(t.Key()), elem)
	}
	return nil
}

func (d *decoder) structFields(n *yaml.Node, v reflect.Value, key string, depth int) *Error {
	fields := fieldsOf(v.Type())
	for _, p := range d.mapping(n, key, depth) {
		if p.err != nil {
			return p.err
		}
		f, ok := fields.byName[p.name]
		if !ok {
			if fields.inlineMap != nil {
				continue
			}
			return d.unknownKey(p.key, join(key, p.name), fields.names)
		}
		if err := d.value(p.val, v.FieldByIndex(f.index), join(key, p.name), depth+1); err != nil {
			return err
		}
	}
	if fields.inlineMap != nil {
		m := v.FieldByIndex(fields.inlineMap)
		if m.Type().Key().Kind() != reflect.String {
			return d.errf(n, key, "cannot decode into Go type %s (map keys must be strings)", m.Type())
		}
		if m.IsNil() {
			m.Set(reflect.MakeMap(m.Type()))
		}
		return d.mapEntries(n, m, key, depth, fields.byName)
	}
	return nil
}

// kindName names a node's kind for messages, never its value.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "single value"
}

type field struct{ index []int }

type structInfo struct {
	byName    map[string]field
	names     []string // sorted
	inlineMap []int    // index of an ",inline" map, if any
}

var structCache sync.Map // reflect.Type -> *structInfo

// fieldsOf maps a struct's yaml keys to its fields, as yaml.v3 does: the tag
// name or else the lowercased field name; "-" skips; ",inline" structs
// contribute their fields (outer names win) and an ",inline" map takes
// every other key.
func fieldsOf(t reflect.Type) *structInfo {
	if si, ok := structCache.Load(t); ok {
		return si.(*structInfo)
	}
	si := &structInfo{byName: map[string]field{}}
	collectFields(t, nil, si, 0)
	for name := range si.byName {
		si.names = append(si.names, name)
	}
	sort.Strings(si.names)
	structCache.Store(t, si)
	return si
}

func collectFields(t reflect.Type, prefix []int, si *structInfo, depth int) {
	type inline struct {
		t     reflect.Type
		index []int
	}
	var inlines []inline
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, flags, _ := strings.Cut(tag, ",")
		index := append(append([]int(nil), prefix...), i)
		if isInline(flags) {
			switch f.Type.Kind() {
			case reflect.Struct:
				inlines = append(inlines, inline{f.Type, index})
				continue
			case reflect.Map:
				if si.inlineMap == nil && f.IsExported() {
					si.inlineMap = index
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		if _, taken := si.byName[name]; !taken {
			si.byName[name] = field{index: index}
		}
	}
	if depth >= maxDepth {
		return
	}
	for _, in := range inlines {
		collectFields(in.t, in.index, si, depth+1)
	}
}

func isInline(flags string) bool {
	for f := range strings.SplitSeq(flags, ",") {
		if f == "inline" {
			return true
		}
	}
	return false
}

// suggest returns the candidate closest to name (ignoring case, "_" and
// "-"), or "" when none is close enough to be a likely typo.
func suggest(name string, candidates []string) string {
	norm := func(s string) string {
		return strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(s))
	}
	target := norm(name)
	if target == "" || len(target) > 64 {
		return ""
	}
	best, bestDist := "", math.MaxInt
	for _, c := range candidates {
		if dist := editDistance(target, norm(c)); dist < bestDist {
			best, bestDist = c, dist
		}
	}
	limit := 2
	if len(target) <= 4 {
		limit = 1
	}
	if bestDist <= limit {
		return best
	}
	return ""
}

// editDistance is the optimal-string-alignment distance (Levenshtein plus
// transpositions) between a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// redact removes the values under n from a third-party error message
// (a yaml.Unmarshaler or encoding.TextUnmarshaler may quote its input,
// whole or, like yaml.v3, cut to its first characters).
func redact(msg string, n *yaml.Node) string {
	var values []string
	var walk func(n *yaml.Node, depth int)
	walk = func(n *yaml.Node, depth int) {
		if n == nil || depth > maxDepth || len(values) > 1000 {
			return
		}
		switch n.Kind {
		case yaml.ScalarNode:
			values = append(values, n.Value)
		case yaml.AliasNode:
			walk(n.Alias, depth+1)
		default:
			for _, c := range n.Content {
				walk(c, depth+1)
			}
		}
	}
	walk(n, 0)
	// Longest first, so a value's prefix does not break up a longer match.
	sort.Slice(values, func(i, j int) bool { return len(values[i]) > len(values[j]) })
	for _, v := range values {
		if len(v) < 4 {
			continue // too short to be a secret; replacing it would garble the text
		}
		forms := []string{v, strings.Trim(strconv.Quote(v), `"`)}
		if len(v) > 7 {
			forms = append(forms, v[:7])
		}
		for _, f := range forms {
			msg = strings.ReplaceAll(msg, f, "***")
		}
	}
	return msg
}
