package influxfeed

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"
	http2 "github.com/influxdata/influxdb-client-go/v2/api/http"
	"github.com/influxdata/influxdb-client-go/v2/api/write"
	influxlog "github.com/influxdata/influxdb-client-go/v2/log"
)

// Measurement and field names, as the source reads them.
const (
	InvocationsMeasurement = "function_invocations"
	CloudWatchMeasurement  = "cloudwatch_aws_lambda"
	InsightsMeasurement    = "cloudwatch_lambda_insights"
)

// BatchSize is the number of points per write request.
const BatchSize = 5000

// Point renders an invocation in the generic schema.
func (inv Invocation) Point() *write.Point {
	p := write.NewPointWithMeasurement(InvocationsMeasurement).
		AddTag("function", inv.ID.Name).
		AddTag("platform", string(inv.Platform)).
		AddField("duration_ms", inv.DurationMS).
		AddField("cold_start", inv.ColdStart).
		AddField("status", inv.Status).
		SetTime(inv.T)
	if inv.ID.Namespace != "" {
		p.AddTag("namespace", inv.ID.Namespace)
	}
	if inv.Runtime != "" {
		p.AddTag("runtime", inv.Runtime)
	}
	if inv.MemoryMB > 0 {
		p.AddField("memory_mb", int64(inv.MemoryMB))
	}
	return p.SortTags().SortFields()
}

// Points renders one period as Telegraf's CloudWatch input would: the
// AWS/Lambda statistics and, when known, the Lambda Insights ones.
func (c CloudWatchPoint) Points() []*write.Point {
	lambda := write.NewPointWithMeasurement(CloudWatchMeasurement).
		AddTag("region", c.Region).
		AddTag("function_name", c.Function).
		AddField("invocations_sum", c.Invocations).
		AddField("errors_sum", c.Errors).
		AddField("throttles_sum", c.Throttles).
		AddField("concurrent_executions_maximum", c.ConcurrentMax).
		SetTime(c.T)
	if c.DurationAvgMS > 0 {
		lambda.AddField("duration_average", c.DurationAvgMS)
	}
	out := []*write.Point{lambda.SortTags().SortFields()}
	if c.MemoryMB > 0 {
		out = append(out, write.NewPointWithMeasurement(InsightsMeasurement).
			AddTag("region", c.Region).
			AddTag("function_name", c.Function).
			AddField("total_memory_maximum", c.MemoryMB).
			AddField("init_duration_sample_count", c.InitCount).
			SetTime(c.T).SortTags().SortFields())
	}
	return out
}

// Writer writes points with the client's blocking write API (one HTTP
// request per batch).
type Writer struct {
	client influxdb2.Client
	api    api.WriteAPIBlocking
	bucket string
	// Written counts the points written.
	Written int
}

// NewWriter connects to url (InfluxDB 2.x: org, bucket, token; 1.8: org
// "", bucket "db/rp", token "user:password" or ""). It makes no request.
func NewWriter(url, org, bucket, token string) *Writer {
	opts := influxdb2.DefaultOptions().
		SetApplicationName("perch-demo-feed").
		SetLogLevel(influxlog.ErrorLevel).
		SetPrecision(time.Nanosecond).
		SetHTTPRequestTimeout(60)
	c := influxdb2.NewClientWithOptions(strings.TrimRight(url, "/"), token, opts)
	return &Writer{client: c, api: c.WriteAPIBlocking(org, bucket), bucket: bucket}
}

// Close releases the client.
func (w *Writer) Close() { w.client.Close() }

// WriteInvocations writes invocations in batches.
func (w *Writer) WriteInvocations(ctx context.Context, invs []Invocation) error {
	pts := make([]*write.Point, 0, min(len(invs), BatchSize))
	for i, inv := range invs {
		pts = append(pts, inv.Point())
		if len(pts) == BatchSize || i == len(invs)-1 {
			if err := w.write(ctx, pts); err != nil {
				return err
			}
			pts = pts[:0]
		}
	}
	return nil
}

// WriteCloudWatch writes CloudWatch-shaped points in batches.
func (w *Writer) WriteCloudWatch(ctx context.Context, cws []CloudWatchPoint) error {
	var pts []*write.Point
	for i, c := range cws {
		pts = append(pts, c.Points()...)
		if len(pts) >= BatchSize || i == len(cws)-1 {
			if err := w.write(ctx, pts); err != nil {
				return err
			}
			pts = pts[:0]
		}
	}
	return nil
}

func (w *Writer) write(ctx context.Context, pts []*write.Point) error {
	if len(pts) == 0 {
		return nil
	}
	if err := w.api.WritePoint(ctx, pts...); err != nil {
		return fmt.Errorf("influxdb write to bucket %q: %w", w.bucket, describeWrite(err))
	}
	w.Written += len(pts)
	return nil
}

// describeWrite adds a hint for the usual errors; the client's error
// already carries the server's message.
func describeWrite(err error) error {
	var he *http2.Error
	if !errors.As(err, &he) {
		return err
	}
	switch he.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("the server refused the token (2.x: a token that can write the bucket; 1.8: \"user:password\"): %w", err)
	case http.StatusNotFound:
		return fmt.Errorf("bucket not found (1.8: database/retention-policy; create it with CREATE DATABASE): %w", err)
	}
	return err
}
