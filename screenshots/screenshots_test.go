//go:build screenshots

// Package screenshots holds the README's pictures of perch and the test
// that makes them: `make screenshots` (go test -tags screenshots) runs
// scripts/screenshots.sh, then checks every picture exists, shows something
// and was drawn from the frame the golden test in cmd/perch pins.
package screenshots

import (
	"bufio"
	"bytes"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/perch-dev/perch/internal/golden"
)

// The README embeds these; the script may make more.
var required = []string{"overview-dark", "overview-light", "detail-dark", "detail-light"}

// goldenFrame is the frame cmd/perch's TestRenderOverviewMatchesGolden
// renders with the same arguments as the overview-dark shot.
const (
	goldenShot  = "overview-dark"
	goldenFrame = "../cmd/perch/testdata/render_overview_dark_140x32.golden"
)

type shot struct {
	name, frame string
	args        []string
}

func (s shot) arg(flag string) string {
	for i := 0; i+1 < len(s.args); i++ {
		if s.args[i] == flag {
			return s.args[i+1]
		}
	}
	return ""
}

func TestScreenshots(t *testing.T) {
	script, err := filepath.Abs("../scripts/screenshots.sh")
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Getwd() // the PNGs belong next to this file
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	cmd := exec.Command(script, "render", out)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s render failed: %v\n%s", script, err, log.String())
	}
	t.Logf("pipeline took %s:\n%s", time.Since(start).Round(time.Millisecond), log.String())

	shots := readManifest(t, "../.cache/screenshots/frames/manifest")
	byName := map[string]shot{}
	for _, s := range shots {
		byName[s.name] = s
	}
	for _, name := range required {
		if _, ok := byName[name]; !ok {
			t.Errorf("the script made no %s shot (README embeds it)", name)
		}
	}
	for _, s := range shots {
		t.Run(s.name, func(t *testing.T) {
			inked := checkFrame(t, s)
			checkPicture(t, s, filepath.Join(out, s.name+".png"), inked)
		})
	}

	g, ok := byName[goldenShot]
	if !ok {
		t.Fatalf("no %s shot", goldenShot)
	}
	want, err := os.ReadFile(goldenFrame)
	if err != nil {
		t.Fatalf("%v (go test ./cmd/perch -run Golden -update creates it)", err)
	}
	got, err := os.ReadFile(g.frame)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s was drawn from a frame that differs from %s: the script's arguments and the golden test's have drifted apart", goldenShot, goldenFrame)
	}
}

func readManifest(t *testing.T, path string) []shot {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	defer f.Close()
	var shots []shot
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), "\t", 3)
		if len(parts) != 3 {
			t.Fatalf("manifest line %q: want NAME<TAB>FRAME<TAB>ARGS", sc.Text())
		}
		shots = append(shots, shot{name: parts[0], frame: parts[1], args: strings.Fields(parts[2])})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(shots) == 0 {
		t.Fatal("empty manifest")
	}
	return shots
}

// checkFrame checks the text frame has the shot's size, every line exactly
// wide, and returns the share of its cells that are not blank.
func checkFrame(t *testing.T, s shot) float64 {
	data, err := os.ReadFile(s.frame)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := strconv.Atoi(s.arg("--width"))
	h, _ := strconv.Atoi(s.arg("--height"))
	frame, ok := strings.CutSuffix(string(data), "\n")
	if !ok || w == 0 || h == 0 {
		t.Fatalf("frame %s: size %dx%d, final newline %v", s.frame, w, h, ok)
	}
	golden.CheckFrame(t, frame, w, h)
	plain := ansi.Strip(frame)
	blank := strings.Count(plain, " ") + strings.Count(plain, "\n")
	return 1 - float64(blank)/float64(w*h)
}

// checkPicture: the PNG decodes, is about the terminal's size, and is not
// blank: its brightness varies, there are many colours (anti-aliased text
// in several theme colours, not one flat fill), and the share of pixels
// that differ from the background is in proportion to the share of the
// frame's cells that hold a character (a glyph inks roughly a third of its
// cell; a picture that lost part of the frame inks far less).
func checkPicture(t *testing.T, s shot, path string, inked float64) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b := img.Bounds()
	cols, _ := strconv.Atoi(s.arg("--width"))
	rows, _ := strconv.Atoi(s.arg("--height"))
	if b.Dx() < cols*7 || b.Dy() < rows*12 {
		t.Errorf("%s is %dx%d, too small for %dx%d cells", path, b.Dx(), b.Dy(), cols, rows)
	}
	bg := img.At(b.Min.X, b.Min.Y)
	br, bgG, bb, _ := bg.RGBA()
	var sum, sumSq float64
	differ, n := 0, 0
	colours := map[[3]uint32]bool{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			l := luma(r, g, bl)
			sum += l
			sumSq += l * l
			n++
			if r != br || g != bgG || bl != bb {
				differ++
			}
			if len(colours) < 10000 {
				colours[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
			}
		}
	}
	mean := sum / float64(n)
	stddev := math.Sqrt(max(sumSq/float64(n)-mean*mean, 0))
	share := float64(differ) / float64(n)
	t.Logf("%s: %dx%d, luma mean %.0f sd %.1f, %.1f%% non-background for %.1f%% non-blank cells, %d colours",
		filepath.Base(path), b.Dx(), b.Dy(), mean, stddev, 100*share, 100*inked, len(colours))
	if stddev < 5 {
		t.Errorf("%s looks blank: brightness standard deviation %.1f", path, stddev)
	}
	if share < 0.01 || share < 0.15*inked {
		t.Errorf("%s looks blank: only %.1f%% of pixels differ from the background, for a frame with %.1f%% non-blank cells", path, 100*share, 100*inked)
	}
	if len(colours) < 16 {
		t.Errorf("%s has only %d colours", path, len(colours))
	}
	// The page background follows the theme: a light theme on a dark page
	// (or the reverse) means the page did not get the theme.
	dark := !strings.Contains(s.arg("--theme"), "light")
	if bgLuma := luma(br, bgG, bb); dark != (bgLuma < 128) {
		t.Errorf("%s: background luma %.0f for a %s theme", path, bgLuma, s.arg("--theme"))
	}
}

func luma(r, g, b uint32) float64 {
	return (0.2126*float64(r) + 0.7152*float64(g) + 0.0722*float64(b)) / 257
}
