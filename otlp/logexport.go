package otlp

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/podexporter/podexporter/otlp/otlpconf"
)

// LogExporter sends encoded OTLP log requests (ExportLogsServiceRequest) one at a
// time, once each: the LogSink retries. A nil error means the receiver took the
// request, perhaps refusing part of it (Partial).
type LogExporter interface {
	Export(ctx context.Context, request []byte) (Partial, error)
	Shutdown(ctx context.Context) error
}

// Partial is a receiver's partial success: how many records of an accepted request
// it refused, and why.
type Partial struct {
	Rejected int64
	Message  string
}

func partialOf(r *collogspb.ExportLogsServiceResponse) Partial {
	p := r.GetPartialSuccess()
	return Partial{Rejected: p.GetRejectedLogRecords(), Message: p.GetErrorMessage()}
}

// userAgent names podexporter to receivers, as the SDK's exporters named themselves.
const userAgent = "podexporter OTLP logs exporter"

// NewLogExporter builds the OTLP log exporter for c. The exporters' own retries do
// not exist: the LogSink retries, forever, holding the batch.
func NewLogExporter(ctx context.Context, c Config) (LogExporter, error) {
	tlsCfg, err := c.TLSFiles.Client(c.Endpoint)
	if err != nil {
		return nil, err
	}
	switch c.Protocol {
	case ProtocolGRPC:
		creds := insecure.NewCredentials()
		if tlsCfg != nil {
			creds = credentials.NewTLS(tlsCfg)
		}
		opts := append([]grpc.DialOption{grpc.WithTransportCredentials(creds), grpc.WithUserAgent(userAgent)}, c.grpcDialOptions()...)
		conn, err := grpc.NewClient(c.hostPort(), opts...)
		if err != nil {
			return nil, fmt.Errorf("otlp/grpc client for %s: %w", c.hostPort(), err)
		}
		return &grpcLogExporter{conn: conn, headers: metadata.New(c.Headers), c: c}, nil
	case ProtocolHTTP:
		return &httpLogExporter{client: c.httpClient(tlsCfg), url: c.signalURL(otlpconf.SignalLogs), c: c}, nil
	}
	return nil, fmt.Errorf("otlp protocol %q is not grpc or http/protobuf", c.Protocol)
}

// NewLogExporters builds n log exporters for c, each with its own connection, for a
// LogSink that exports several batches at once.
func NewLogExporters(ctx context.Context, c Config, n int) ([]LogExporter, error) {
	exps := make([]LogExporter, 0, n)
	for range n {
		exp, err := NewLogExporter(ctx, c)
		if err != nil {
			for _, e := range exps {
				_ = e.Shutdown(ctx)
			}
			return nil, err
		}
		exps = append(exps, exp)
	}
	return exps, nil
}

// grpcLogExporter calls LogsService/Export with the request's bytes as they are.
type grpcLogExporter struct {
	conn    *grpc.ClientConn
	headers metadata.MD
	c       Config
}

const exportLogsMethod = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"

func (e *grpcLogExporter) Export(ctx context.Context, request []byte) (Partial, error) {
	if e.c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.c.Timeout)
		defer cancel()
	}
	if len(e.headers) > 0 {
		ctx = metadata.NewOutgoingContext(ctx, e.headers)
	}
	var resp collogspb.ExportLogsServiceResponse
	if err := e.conn.Invoke(ctx, exportLogsMethod, encodedRequest(request), &resp, grpc.ForceCodec(encodedCodec{})); err != nil {
		return Partial{}, fmt.Errorf("otlp/grpc export to %s: %w", e.c.hostPort(), err)
	}
	return partialOf(&resp), nil
}

func (e *grpcLogExporter) Shutdown(context.Context) error { return e.conn.Close() }

// encodedRequest is a request already in protobuf; encodedCodec sends it as it is
// and decodes responses as protobuf, under the "proto" content subtype receivers
// expect.
type encodedRequest []byte

type encodedCodec struct{}

var _ encoding.Codec = encodedCodec{}

func (encodedCodec) Marshal(v any) ([]byte, error) {
	if b, ok := v.(encodedRequest); ok {
		return b, nil
	}
	m, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("encode %T: not a protobuf message", v)
	}
	return proto.Marshal(m)
}

func (encodedCodec) Unmarshal(data []byte, v any) error {
	m, ok := v.(proto.Message)
	if !ok {
		return fmt.Errorf("decode into %T: not a protobuf message", v)
	}
	return proto.Unmarshal(data, m)
}

func (encodedCodec) Name() string { return "proto" }

// httpLogExporter posts the request to the logs URL; its client compresses, carries
// TLS, proxies and the timeout (httpClient).
type httpLogExporter struct {
	client *http.Client
	url    string
	c      Config
}

// maxResponse bounds what is read of a receiver's answer: a partial success or a
// status, a few hundred bytes, whatever a broken receiver sends.
const maxResponse = 64 << 10

func (e *httpLogExporter) Export(ctx context.Context, request []byte) (Partial, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(request))
	if err != nil {
		return Partial{}, fmt.Errorf("otlp/http request to %s: %w", e.url, err)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("User-Agent", userAgent)
	for k, v := range e.c.Headers {
		req.Header.Set(k, v)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return Partial{}, fmt.Errorf("otlp/http export to %s: %w", e.url, err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	// Drained and closed, the connection is kept for the next request.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
	_ = resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		// The status text stays in the message: permanent() tells a refusal by its
		// "400 Bad Request".
		return Partial{}, fmt.Errorf("otlp/http export to %s: %s%s", e.url, resp.Status, statusMessage(resp.Header.Get("Content-Type"), body))
	}
	if err != nil {
		return Partial{}, fmt.Errorf("otlp/http export to %s: read the response: %w", e.url, err)
	}
	var r collogspb.ExportLogsServiceResponse
	if len(body) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/x-protobuf") {
		if err := proto.Unmarshal(body, &r); err != nil {
			// The receiver took the request; only its answer is unreadable.
			return Partial{}, nil
		}
	}
	return partialOf(&r), nil
}

// statusMessage is the message of a refusal's google.rpc.Status body, for the error.
func statusMessage(contentType string, body []byte) string {
	if !strings.HasPrefix(contentType, "application/x-protobuf") {
		return ""
	}
	var st spb.Status
	if proto.Unmarshal(body, &st) != nil || st.GetMessage() == "" {
		return ""
	}
	return ": " + text(st.GetMessage())
}

func (e *httpLogExporter) Shutdown(context.Context) error {
	e.client.CloseIdleConnections()
	return nil
}
