package jaeger

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Search and trace answers are decoded as a stream, span by span, and
// stopped at max_spans: decoded whole, a 55 MB answer held the body, its
// decoded form and the converted traces at once (+369 MiB of heap, 17 s
// without -race), and a search asks for search_depth traces of unknown
// size.

// tooManySpansError is an answer with more spans than max_spans.
type tooManySpansError struct{ max int }

func (e *tooManySpansError) Error() string {
	return fmt.Sprintf("the answer holds more than %d spans (max_spans): narrow the window, lower search_depth or raise max_spans", e.max)
}

// errWrongShape is JSON that is not what the API answers.
var errWrongShape = errors.New("unexpected JSON structure")

// spanCounter counts the spans of one answer against the cap.
type spanCounter struct{ n, max int }

func (c *spanCounter) add() error {
	c.n++
	if c.max > 0 && c.n > c.max {
		return &tooManySpansError{max: c.max}
	}
	return nil
}

// object reads the JSON object that comes next and calls field for each
// of its keys (field must consume the value). null is an empty object.
func object(dec *json.Decoder, field func(key string) error) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("%w: %v where an object belongs", errWrongShape, tok)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, ok := tok.(string)
		if !ok {
			return fmt.Errorf("%w: object key %v", errWrongShape, tok)
		}
		if err := field(key); err != nil {
			return err
		}
	}
	_, err = dec.Token() // '}'
	return err
}

// array reads the JSON array that comes next and calls elem for each
// element (elem must consume it). null is an empty array.
func array(dec *json.Decoder, elem func() error) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return fmt.Errorf("%w: %v where an array belongs", errWrongShape, tok)
	}
	for dec.More() {
		if err := elem(); err != nil {
			return err
		}
	}
	_, err = dec.Token() // ']'
	return err
}

// skip reads and drops the value that comes next.
func skip(dec *json.Decoder) error {
	var v json.RawMessage
	return dec.Decode(&v)
}

// decodeV3 reads a v3 answer ({"result":{"resourceSpans":[…]}}).
func decodeV3(dec *json.Decoder, maxSpans int, r *v3Response) error {
	c := spanCounter{max: maxSpans}
	return object(dec, func(key string) error {
		if key != "result" {
			return skip(dec)
		}
		return object(dec, func(key string) error {
			if key != "resourceSpans" {
				return skip(dec)
			}
			return array(dec, func() error {
				var rs otlpResourceSpans
				err := object(dec, func(key string) error {
					switch key {
					case "resource":
						return dec.Decode(&rs.Resource)
					case "scopeSpans":
						return array(dec, func() error {
							var ss otlpScopeSpans
							err := object(dec, func(key string) error {
								if key != "spans" {
									return skip(dec)
								}
								return array(dec, func() error {
									if err := c.add(); err != nil {
										return err
									}
									var s otlpSpan
									if err := dec.Decode(&s); err != nil {
										return err
									}
									ss.Spans = append(ss.Spans, s)
									return nil
								})
							})
							rs.ScopeSpans = append(rs.ScopeSpans, ss)
							return err
						})
					}
					return skip(dec)
				})
				r.Result.ResourceSpans = append(r.Result.ResourceSpans, rs)
				return err
			})
		})
	})
}

// decodeV1 reads a v1 answer ({"data":[{traceID, spans, processes}], "errors":…}).
func decodeV1(dec *json.Decoder, maxSpans int, r *v1Response) error {
	c := spanCounter{max: maxSpans}
	return object(dec, func(key string) error {
		switch key {
		case "data":
			return array(dec, func() error {
				var t v1Trace
				err := object(dec, func(key string) error {
					switch key {
					case "traceID":
						return dec.Decode(&t.TraceID)
					case "processes":
						return dec.Decode(&t.Processes)
					case "spans":
						return array(dec, func() error {
							if err := c.add(); err != nil {
								return err
							}
							var s v1Span
							if err := dec.Decode(&s); err != nil {
								return err
							}
							t.Spans = append(t.Spans, s)
							return nil
						})
					}
					return skip(dec)
				})
				r.Data = append(r.Data, t)
				return err
			})
		case "total":
			return dec.Decode(&r.Total)
		case "errors":
			return dec.Decode(&r.Errors)
		}
		return skip(dec)
	})
}
