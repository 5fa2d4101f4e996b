package format

import (
	"strings"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

// Pad pads a styled string with spaces to w cells, truncating if longer.
func Pad(s string, w int) string {
	sw := ansi.StringWidth(s)
	if sw > w {
		return ansi.Truncate(s, w, "")
	}
	return s + strings.Repeat(" ", w-sw)
}

// Fit truncates (with …) or pads plain text to exactly w cells, aligned
// right for numbers.
func Fit(s string, w int, right bool) string {
	if w <= 0 {
		return ""
	}
	sw := Width(s)
	if sw > w {
		return ansi.Truncate(s, w, "…")
	}
	if right {
		return strings.Repeat(" ", w-sw) + s
	}
	return s + strings.Repeat(" ", w-sw)
}

// FuzzyMatch reports whether needle's runes appear in order in hay.
func FuzzyMatch(needle, hay string) bool {
	for _, r := range needle {
		i := strings.IndexRune(hay, r)
		if i < 0 {
			return false
		}
		hay = hay[i+utf8.RuneLen(r):]
	}
	return true
}

// EditFilter applies one key of a filter prompt to text: enter keeps it
// and closes the prompt, esc clears and closes, backspace and ctrl+u
// delete, printable text is appended. It reports the new text, whether
// the prompt stays open, and whether the text changed.
func EditFilter(text, keyName, keyText string) (next string, open, changed bool) {
	switch keyName {
	case "enter":
		return text, false, false
	case "esc":
		return "", false, text != ""
	case "backspace":
		if text == "" {
			return text, true, false
		}
		_, size := utf8.DecodeLastRuneInString(text)
		return text[:len(text)-size], true, true
	case "ctrl+u":
		return "", true, text != ""
	}
	if keyText == "" {
		return text, true, false
	}
	return text + keyText, true, true
}
