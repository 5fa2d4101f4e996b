package prometheus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// Instant queries do not go through client_golang's Query: it reads the
// whole body before decoding it, so a huge answer costs its full size in
// memory and CPU before max_series can apply (finding P3). Here the answer
// is decoded as it arrives and reading stops at the first series beyond
// max_series; the body is also capped at max_response_bytes by the
// transport. The request and the errors (v1.Error) are client_golang's,
// so messages read as before.

// errorBodyLimit bounds how much of an error page is read for its message.
const errorBodyLimit = 64 << 10

// instantAnswer is a decoded instant-query answer.
type instantAnswer struct {
	resultType string // "vector" for the answers perch wants
	vec        model.Vector
	// more: the answer holds more than max_series series; vec has the
	// first max_series and the rest was never read.
	more     bool
	warnings []string
}

// queryInstant runs one instant query (POST, falling back to GET when the
// server refuses POST, as client_golang does) and decodes the answer,
// keeping at most maxSeries series.
func (s *Source) queryInstant(ctx context.Context, expr string, ts time.Time, maxSeries int) (instantAnswer, error) {
	u := s.client.URL("/api/v1/query", nil)
	args := u.Query()
	args.Set("query", expr)
	if !ts.IsZero() {
		args.Set("time", formatTime(ts))
	}
	args.Set("timeout", serverTimeout(s.cfg.Timeout).String())
	// Servers that know the parameter (Prometheus ≥ 3.0) cap it themselves.
	args.Set("limit", strconv.Itoa(maxSeries+1))
	encoded := args.Encode()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(encoded))
	if err != nil {
		return instantAnswer{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// Lets the transport retry the POST on a dead pooled connection, as
	// for a GET (the key is not sent).
	req.Header["Idempotency-Key"] = nil
	resp, err := s.http.Do(req)
	if err != nil {
		return instantAnswer{}, err
	}
	switch resp.StatusCode {
	case http.StatusForbidden, http.StatusMethodNotAllowed, http.StatusNotImplemented:
		resp.Body.Close()
		u.RawQuery = encoded
		if req, err = http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil); err != nil {
			return instantAnswer{}, err
		}
		if resp, err = s.http.Do(req); err != nil {
			return instantAnswer{}, err
		}
	}
	defer resp.Body.Close()
	return readAnswer(ctx, resp, maxSeries)
}

// formatTime is client_golang's: seconds with the fraction, as Prometheus parses them.
func formatTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.Unix())+float64(t.Nanosecond())/1e9, 'f', -1, 64)
}

// readAnswer turns a response into an answer or an error, the way
// client_golang's API client does: an error page becomes a v1.Error with
// the status and the page, a JSON error document the server's own type
// and message.
func readAnswer(ctx context.Context, resp *http.Response, maxSeries int) (instantAnswer, error) {
	code := resp.StatusCode
	if code/100 != 2 {
		page, err := io.ReadAll(io.LimitReader(resp.Body, errorBodyLimit))
		if err != nil && ctx.Err() != nil {
			return instantAnswer{}, ctx.Err()
		}
		return instantAnswer{}, errorAnswer(code, page)
	}
	body := &trackedReader{r: resp.Body}
	ans, status, err := decodeAnswer(body, maxSeries)
	if err != nil {
		if body.err != nil && body.err != io.EOF {
			// The transport failed mid-body (cut, max_response_bytes, deadline).
			if ctx.Err() != nil {
				return ans, ctx.Err()
			}
			return ans, body.err
		}
		msg := err.Error()
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			msg = "unexpected end of JSON input" // the body ended cleanly, the JSON did not
		}
		return ans, &v1.Error{Type: v1.ErrBadResponse, Msg: msg}
	}
	if status.status == "error" {
		return ans, &v1.Error{Type: v1.ErrorType(status.errorType), Msg: status.error}
	}
	return ans, nil
}

// errorAnswer is the error for a non-2xx response. Prometheus answers 400
// and 422 with a JSON error document; anything else is a plain error page.
func errorAnswer(code int, page []byte) error {
	generic := func() error {
		typ, msg := v1.ErrBadResponse, fmt.Sprintf("bad response code %d", code)
		switch code / 100 {
		case 4:
			typ, msg = v1.ErrClient, fmt.Sprintf("client error: %d", code)
		case 5:
			typ, msg = v1.ErrServer, fmt.Sprintf("server error: %d", code)
		}
		return &v1.Error{Type: typ, Msg: msg, Detail: string(page)}
	}
	if code != http.StatusBadRequest && code != http.StatusUnprocessableEntity {
		return generic()
	}
	var doc struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
	}
	if json.Unmarshal(page, &doc) != nil {
		return generic()
	}
	if doc.Status == "success" {
		return &v1.Error{Type: v1.ErrBadResponse, Msg: "inconsistent body for response code"}
	}
	if doc.ErrorType == "" {
		doc.ErrorType = string(v1.ErrClient)
	}
	if doc.Error == "" {
		doc.Error = fmt.Sprintf("client error: %d", code)
	}
	return &v1.Error{Type: v1.ErrorType(doc.ErrorType), Msg: doc.Error}
}

// trackedReader remembers the first read error (io.EOF at a clean end),
// so a transport failure is not mistaken for bad JSON.
type trackedReader struct {
	r   io.Reader
	err error
}

func (t *trackedReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && t.err == nil {
		t.err = err
	}
	return n, err
}

// answerStatus is the envelope's status part.
type answerStatus struct {
	status, errorType, error string
}

// decodeAnswer decodes the API envelope
//
//	{"status":…, "data":{"resultType":…, "result":[…]}, "warnings":[…], …}
//
// token by token, one series at a time. After maxSeries series it stops
// reading when another one follows (more = true): memory and time depend
// on maxSeries and on the largest single value, never on the answer's
// size. Keys may come in any order; unknown keys are skipped.
func decodeAnswer(r io.Reader, maxSeries int) (instantAnswer, answerStatus, error) {
	var ans instantAnswer
	var st answerStatus
	dec := json.NewDecoder(r)
	ok, err := openValue(dec, '{')
	if err != nil || !ok {
		return ans, st, err // null: an answer without data
	}
	for dec.More() {
		key, err := objectKey(dec)
		if err != nil {
			return ans, st, err
		}
		switch {
		case keyIs(key, "status"):
			err = dec.Decode(&st.status)
		case keyIs(key, "errorType"):
			err = dec.Decode(&st.errorType)
		case keyIs(key, "error"):
			err = dec.Decode(&st.error)
		case keyIs(key, "warnings"):
			err = dec.Decode(&ans.warnings)
		case keyIs(key, "data"):
			var stopped bool
			stopped, err = decodeData(dec, &ans, maxSeries)
			if stopped {
				// The rest of the answer is not read: nothing after the
				// series is worth its size.
				return ans, st, err
			}
		default:
			err = skipValue(dec)
		}
		if err != nil {
			return ans, st, err
		}
	}
	if err := closeValue(dec); err != nil {
		return ans, st, err
	}
	// Like json.Unmarshal: nothing but white space may follow.
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = errors.New("invalid character after top-level value")
		}
		return ans, st, err
	}
	return ans, st, nil
}

// decodeData decodes {"resultType":…, "result":[…]}. stopped reports that
// decoding ended early, either at max_series (ans.more) or because the
// result is not a vector (ans.resultType says what it is).
func decodeData(dec *json.Decoder, ans *instantAnswer, maxSeries int) (stopped bool, err error) {
	// A repeated "data" replaces the previous one, as with json.Unmarshal.
	ans.resultType, ans.vec, ans.more = "", nil, false
	ok, err := openValue(dec, '{')
	if err != nil || !ok {
		return false, err
	}
	for dec.More() {
		key, err := objectKey(dec)
		if err != nil {
			return false, err
		}
		switch {
		case keyIs(key, "resultType"):
			err = dec.Decode(&ans.resultType)
		case keyIs(key, "result"):
			if ans.resultType != "" && ans.resultType != model.ValVector.String() {
				return true, nil // a matrix, scalar or string: not read any further
			}
			var stopped bool
			stopped, err = decodeVector(dec, ans, maxSeries)
			if stopped {
				return true, err
			}
		default:
			err = skipValue(dec)
		}
		if err != nil {
			return false, err
		}
	}
	return false, closeValue(dec)
}

// decodeVector decodes the result array, one series at a time, and stops
// at the first series beyond maxSeries. Should the result come before its
// resultType (Prometheus writes the type first), the series beyond
// maxSeries are read but not kept until the type is known.
func decodeVector(dec *json.Decoder, ans *instantAnswer, maxSeries int) (stopped bool, err error) {
	ans.vec, ans.more = nil, false
	ok, err := openValue(dec, '[')
	if err != nil || !ok {
		return false, err
	}
	for dec.More() {
		if len(ans.vec) >= maxSeries {
			ans.more = true
			if ans.resultType == model.ValVector.String() {
				return true, nil
			}
			if err := skipValue(dec); err != nil {
				return false, err
			}
			continue
		}
		smp, err := decodeSample(dec)
		if err != nil {
			return false, err
		}
		ans.vec = append(ans.vec, smp)
	}
	return false, closeValue(dec)
}

// wireSample is one series of a vector as Prometheus writes it.
type wireSample struct {
	Metric    model.Metric    `json:"metric"`
	Value     json.RawMessage `json:"value"`
	Histogram json.RawMessage `json:"histogram"`
}

var jsonNull = []byte("null")

// decodeSample decodes one series as model.Sample.UnmarshalJSON does, but
// parses a well-formed value pair directly with model's own parsers
// rather than through encoding/json once more. A null series stays nil,
// as in client_golang's vectors.
func decodeSample(dec *json.Decoder) (*model.Sample, error) {
	var w *wireSample
	if err := dec.Decode(&w); err != nil || w == nil {
		return nil, err
	}
	smp := &model.Sample{Metric: w.Metric}
	if len(w.Histogram) > 0 && !bytes.Equal(w.Histogram, jsonNull) {
		var h model.SampleHistogramPair
		if err := h.UnmarshalJSON(w.Histogram); err != nil {
			return nil, err
		}
		smp.Timestamp, smp.Histogram = h.Timestamp, h.Histogram
		return smp, nil
	}
	if len(w.Value) > 0 && !bytes.Equal(w.Value, jsonNull) {
		if ts, val, ok := splitPair(w.Value); ok && smp.Timestamp.UnmarshalJSON(ts) == nil && smp.Value.UnmarshalJSON(val) == nil {
			return smp, nil
		}
		// Anything unusual: model's own decoder, with its errors.
		var p model.SamplePair
		if err := p.UnmarshalJSON(w.Value); err != nil {
			return nil, err
		}
		smp.Timestamp, smp.Value = p.Timestamp, p.Value
	}
	return smp, nil
}

// splitPair splits `[ts, "v"]` (already valid JSON) into its two elements.
func splitPair(b []byte) (ts, val []byte, ok bool) {
	b = bytes.TrimSpace(b)
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return nil, nil, false
	}
	// The first element is a number, so the first comma ends it.
	ts, val, ok = bytes.Cut(b[1:len(b)-1], []byte{','})
	if !ok {
		return nil, nil, false
	}
	return bytes.TrimSpace(ts), bytes.TrimSpace(val), true
}

// openValue reads the opening delimiter want, or null (ok = false).
func openValue(dec *json.Decoder, want json.Delim) (ok bool, err error) {
	tok, err := dec.Token()
	if err != nil {
		return false, err
	}
	if tok == nil {
		return false, nil
	}
	if d, isDelim := tok.(json.Delim); !isDelim || d != want {
		return false, fmt.Errorf("expected %s, got %s", kindOf(want), describeToken(tok))
	}
	return true, nil
}

// closeValue reads the closing delimiter of the current object or array
// (dec.More has returned false, so nothing else can come).
func closeValue(dec *json.Decoder) error {
	_, err := dec.Token()
	return err
}

func objectKey(dec *json.Decoder) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	key, _ := tok.(string) // json.Decoder only returns strings in key position
	return key, nil
}

// keyIs matches an object key to a field name the way encoding/json does
// (case-insensitively), so the envelope decodes as it did through
// client_golang.
func keyIs(key, name string) bool { return key == name || strings.EqualFold(key, name) }

// skipValue reads past one value. Its size is bounded by max_response_bytes.
func skipValue(dec *json.Decoder) error {
	var raw json.RawMessage
	return dec.Decode(&raw)
}

func kindOf(d json.Delim) string {
	if d == '[' {
		return "an array"
	}
	return "an object"
}

func describeToken(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		return kindOf(t)
	case string:
		return "a string"
	case bool:
		return "a boolean"
	}
	return "a number"
}
