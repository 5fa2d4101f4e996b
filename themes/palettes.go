package themes

import (
	"image/color"

	"github.com/charmbracelet/x/ansi"
)

// The 16-colour versions name ANSI colours, so they follow the terminal's
// own palette (which users tune for legibility) instead of whatever the
// generic 256→16 table makes of a hex colour (it turns the dark theme's
// yellow warn into the same bright red as bad).

// Dark is the default palette for dark terminals.
func Dark() Theme {
	return Theme{
		Name: "dark", Dark: true,
		Text: hex("#d0d0d0"), Subtle: hex("#7a7a7a"), Accent: hex("#5fafff"),
		Good: hex("#5fd787"), Warn: hex("#ffd75f"), Bad: hex("#ff5f5f"),
		Selected: hex("#303a4a"), Border: hex("#4e4e4e"),
		Series: []color.Color{hex("#5fafff"), hex("#ffaf5f"), hex("#d787ff"), hex("#5fd7d7")},
		basic: &Theme{
			Text: ansi.White, Subtle: ansi.BrightBlack, Accent: ansi.BrightBlue,
			Good: ansi.BrightGreen, Warn: ansi.BrightYellow, Bad: ansi.BrightRed,
			Selected: ansi.Blue, Border: ansi.BrightBlack,
			Series: []color.Color{ansi.BrightBlue, ansi.BrightYellow, ansi.BrightMagenta, ansi.BrightCyan},
		},
	}
}

// Light is the default palette for light terminals.
func Light() Theme {
	return Theme{
		Name: "light", Dark: false,
		Text: hex("#1c1c1c"), Subtle: hex("#6c6c6c"), Accent: hex("#005fd7"),
		Good: hex("#00875f"), Warn: hex("#af5f00"), Bad: hex("#d70000"),
		Selected: hex("#dadaee"), Border: hex("#b2b2b2"),
		Series: []color.Color{hex("#005fd7"), hex("#d75f00"), hex("#8700af"), hex("#008787")},
		basic: &Theme{
			Text: ansi.Black, Subtle: ansi.BrightBlack, Accent: ansi.Blue,
			Good: ansi.Green, Warn: ansi.Yellow, Bad: ansi.Red,
			Selected: ansi.White, Border: ansi.BrightBlack,
			Series: []color.Color{ansi.Blue, ansi.Magenta, ansi.Cyan, ansi.Yellow},
		},
	}
}

// HighContrast is for dark terminals where legibility matters more than
// looks: every text colour reaches WCAG AAA (7:1) on black.
func HighContrast() Theme {
	return Theme{
		Name: "high-contrast", Dark: true,
		Background: hex("#000000"),
		Text:       hex("#ffffff"), Subtle: hex("#c6c6c6"), Accent: hex("#00d7ff"),
		Good: hex("#00ff5f"), Warn: hex("#ffff00"), Bad: hex("#ff8787"),
		Selected: hex("#0000af"), Border: hex("#c6c6c6"),
		Series: []color.Color{hex("#00d7ff"), hex("#ffaf00"), hex("#ff87ff"), hex("#afff5f")},
		basic: &Theme{
			Text: ansi.BrightWhite, Subtle: ansi.White, Accent: ansi.BrightCyan,
			Good: ansi.BrightGreen, Warn: ansi.BrightYellow, Bad: ansi.BrightRed,
			Selected: ansi.Blue, Border: ansi.White,
			Series: []color.Color{ansi.BrightCyan, ansi.BrightYellow, ansi.BrightMagenta, ansi.BrightGreen},
		},
	}
}

// HighContrastLight is HighContrast for light terminals: AAA on white.
func HighContrastLight() Theme {
	return Theme{
		Name: "high-contrast-light", Dark: false,
		Background: hex("#ffffff"),
		Text:       hex("#000000"), Subtle: hex("#3a3a3a"), Accent: hex("#0000af"),
		Good: hex("#005f00"), Warn: hex("#5f3f00"), Bad: hex("#af0000"),
		Selected: hex("#d7e7ff"), Border: hex("#3a3a3a"),
		Series: []color.Color{hex("#0000af"), hex("#875f00"), hex("#870087"), hex("#005f5f")},
		basic: &Theme{
			Text: ansi.Black, Subtle: ansi.BrightBlack, Accent: ansi.Blue,
			Good: ansi.Green, Warn: ansi.Yellow, Bad: ansi.Red,
			Selected: ansi.White, Border: ansi.Black,
			Series: []color.Color{ansi.Blue, ansi.Magenta, ansi.Cyan, ansi.Yellow},
		},
	}
}

// Okabe–Ito colours (Okabe and Ito, "Color Universal Design", 2002): eight
// colours that stay distinct for the common colour-vision deficiencies.
var (
	oiOrange     = hex("#E69F00")
	oiSkyBlue    = hex("#56B4E9")
	oiGreen      = hex("#009E73") // bluish green
	oiYellow     = hex("#F0E442")
	oiBlue       = hex("#0072B2")
	oiVermillion = hex("#D55E00")
	oiPurple     = hex("#CC79A7") // reddish purple
)

// OkabeIto is a colour-blind-safe palette for dark terminals: good is
// bluish green, warn yellow and bad vermillion, which differ in lightness
// as well as hue, so they stay apart without red-green vision.
func OkabeIto() Theme {
	return Theme{
		Name: "okabe-ito", Dark: true,
		Text: hex("#e4e4e4"), Subtle: hex("#8a8a8a"), Accent: oiSkyBlue,
		Good: oiGreen, Warn: oiYellow, Bad: oiVermillion,
		Selected: hex("#263a4f"), Border: hex("#585858"),
		Series: []color.Color{oiSkyBlue, oiOrange, oiPurple, oiYellow},
		basic: &Theme{
			Text: ansi.White, Subtle: ansi.BrightBlack, Accent: ansi.BrightCyan,
			Good: ansi.BrightBlue, Warn: ansi.BrightYellow, Bad: ansi.Red,
			Selected: ansi.Blue, Border: ansi.BrightBlack,
			Series: []color.Color{ansi.BrightCyan, ansi.Yellow, ansi.Magenta, ansi.BrightYellow},
		},
	}
}

// OkabeItoLight is OkabeIto for light terminals. Okabe–Ito's yellow and
// orange are unreadable as text on white, so good, warn and bad are darker
// shades of bluish green, orange and vermillion, spread in lightness so
// they stay apart under colour-vision deficiencies, and the series use the
// darker members of the set.
func OkabeItoLight() Theme {
	return Theme{
		Name: "okabe-ito-light", Dark: false,
		Text: hex("#1c1c1c"), Subtle: hex("#626262"), Accent: oiBlue,
		Good: hex("#00785a"), Warn: hex("#a87200"), Bad: hex("#8f2f00"),
		Selected: hex("#d9e8f5"), Border: hex("#a8a8a8"),
		Series: []color.Color{oiBlue, oiVermillion, hex("#a8497e"), oiGreen},
		basic: &Theme{
			Text: ansi.Black, Subtle: ansi.BrightBlack, Accent: ansi.Blue,
			Good: ansi.Blue, Warn: ansi.Yellow, Bad: ansi.Red,
			Selected: ansi.White, Border: ansi.BrightBlack,
			Series: []color.Color{ansi.Blue, ansi.Red, ansi.Magenta, ansi.Cyan},
		},
	}
}

// Plain has no colours: for NO_COLOR and dumb terminals. Views must still
// mark the selection (reverse) and bad values (symbols, bold).
func Plain() Theme {
	return Theme{Name: "plain", Dark: true, NoColor: true, Series: make([]color.Color, 4)}
}
