package format

import (
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

// Width is the display width of plain text (no escapes). It counts runes
// directly for text made of ASCII and the narrow symbols perch draws
// (punctuation, arrows, box drawing, blocks, braille) and falls back to
// full grapheme measuring otherwise, which costs ~20× more.
func Width(s string) int {
	n := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return ansi.StringWidth(s)
			}
			n++
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if !narrow(r) {
			return ansi.StringWidth(s)
		}
		n++
		i += size
	}
	return n
}

func narrow(r rune) bool {
	switch {
	case r >= 0xA0 && r < 0x300: // Latin-1 supplement and extended Latin
		return r != 0xAD
	case r >= 0x2010 && r <= 0x2027, r >= 0x2030 && r <= 0x205E: // dashes, quotes, …, ‰
		return true
	case r >= 0x2190 && r <= 0x21FF: // arrows
		return true
	case r >= 0x2500 && r <= 0x25FF: // box drawing, blocks, geometric shapes
		return true
	case r >= 0x2800 && r <= 0x28FF: // braille
		return true
	case r == 0x00B5 || r == 0x03BC || r == 0x2713 || r == 0x2716 || r == 0x26A0: // µ μ ✓ ✖ ⚠
		return r != 0x26A0 // ⚠ is ambiguous: let the full measure decide
	}
	return false
}
