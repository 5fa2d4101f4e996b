package kube

import (
	"fmt"
	"io"
	"net/http"
	"strings"
)

// DefaultMaxResponseBytes bounds one API answer that is not a watch
// stream (a list page, a get, metrics). Informers list through streaming
// watches on current servers, so this only meets plain lists, which the
// API server answers unpaginated from its cache: 256 MiB is far beyond a
// list of 10,000 pods, and keeps a broken server or proxy from making
// perch read an endless body.
const DefaultMaxResponseBytes = 256 << 20

// capTransport stops reading an answer past max bytes and says so. Watch
// streams (Content-Type …;stream=watch) are long-lived and not capped; a
// watch request answered with anything else is capped like a list.
type capTransport struct {
	next http.RoundTripper
	max  int64
}

func (t *capTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil || resp.Body == nil || t.max <= 0 {
		return resp, err
	}
	if strings.Contains(resp.Header.Get("Content-Type"), "stream=watch") {
		return resp, nil
	}
	tooLarge := &TooLargeError{Path: req.URL.Path, Max: t.max}
	if resp.ContentLength > t.max {
		resp.Body.Close()
		return nil, tooLarge
	}
	resp.Body = &cappedBody{rc: resp.Body, left: t.max, err: tooLarge}
	return resp, nil
}

// TooLargeError is an answer perch stopped reading at max_response_bytes.
type TooLargeError struct {
	Path string
	Max  int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("answer over max_response_bytes (%s), not read further: GET %s", bytesText(e.Max), e.Path)
}

// cappedBody fails once more than its limit has been read.
type cappedBody struct {
	rc   io.ReadCloser
	left int64
	err  *TooLargeError
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, b.err
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1] // one byte more than allowed tells "too large" from "exactly full"
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n - 1, b.err
	}
	return n, err
}

func (b *cappedBody) Close() error { return b.rc.Close() }

func bytesText(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}
