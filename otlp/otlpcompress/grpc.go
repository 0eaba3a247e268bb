package otlpcompress

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"google.golang.org/grpc/encoding"
	// gRPC's own gzip registers in its init; importing it here makes that run before
	// ours, which replaces it (the registry keeps the last of a name).
	_ "google.golang.org/grpc/encoding/gzip"
)

func init() {
	encoding.RegisterCompressor(grpcGzip{})
	encoding.RegisterCompressor(grpcZstd{})
}

// grpcGzip is gRPC's "gzip" compressor on klauspost's gzip, with pooled writers and
// readers as gRPC's own has.
type grpcGzip struct{}

func (grpcGzip) Name() string { return Gzip }

func (grpcGzip) Compress(w io.Writer) (io.WriteCloser, error) {
	z := gzipWriters.Get()
	z.Reset(w)
	return &pooledGzipWriter{Writer: z}, nil
}

// pooledGzipWriter puts its writer back on Close, which gRPC calls once per message.
type pooledGzipWriter struct{ *gzip.Writer }

func (p *pooledGzipWriter) Close() error {
	if p.Writer == nil {
		return errors.New("gzip writer closed twice")
	}
	err := p.Writer.Close()
	p.Writer.Reset(io.Discard)
	gzipWriters.Put(p.Writer)
	p.Writer = nil
	return err
}

var gzipReaders sync.Pool

func (grpcGzip) Decompress(r io.Reader) (io.Reader, error) {
	z, ok := gzipReaders.Get().(*gzip.Reader)
	if !ok {
		nz, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return &pooledGzipReader{r: nz}, nil
	}
	if err := z.Reset(r); err != nil {
		gzipReaders.Put(z)
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return &pooledGzipReader{r: z}, nil
}

// pooledGzipReader puts its reader back at the end of the message. It is only a
// Reader: gRPC closes a decompressor that is an io.Closer.
type pooledGzipReader struct{ r *gzip.Reader }

func (p *pooledGzipReader) Read(b []byte) (int, error) {
	if p.r == nil {
		return 0, io.EOF
	}
	n, err := p.r.Read(b)
	if errors.Is(err, io.EOF) {
		gzipReaders.Put(p.r)
		p.r = nil
	}
	return n, err
}

// grpcZstd is the "zstd" compressor, which the Collector's gRPC receiver registers
// too. gRPC writes a message in one or a few Writes; it is gathered and encoded whole
// on Close with the shared encoder, which needs no per-stream state.
type grpcZstd struct{}

func (grpcZstd) Name() string { return Zstd }

func (grpcZstd) Compress(w io.Writer) (io.WriteCloser, error) {
	b := plainBufs.Get().(*bytes.Buffer)
	b.Reset()
	return &zstdMessageWriter{w: w, plain: b}, nil
}

type zstdMessageWriter struct {
	w     io.Writer
	plain *bytes.Buffer
}

func (z *zstdMessageWriter) Write(p []byte) (int, error) {
	if z.plain == nil {
		return 0, errors.New("zstd writer closed")
	}
	return z.plain.Write(p)
}

func (z *zstdMessageWriter) Close() error {
	if z.plain == nil {
		return errors.New("zstd writer closed twice")
	}
	zb := zstdOut.Get().(*[]byte)
	*zb = appendZstd((*zb)[:0], z.plain.Bytes())
	_, err := z.w.Write(*zb)
	zstdOut.Put(zb)
	plainBufs.Put(z.plain)
	z.plain = nil
	if err != nil {
		return fmt.Errorf("zstd: %w", err)
	}
	return nil
}

// zstdOut holds the compressed messages' buffers: gRPC copies what it is written.
var zstdOut = sync.Pool{New: func() any { return new([]byte) }}

// zstdDecoders decode responses, which the Collector compresses as the request was:
// a decoder with concurrency 1 decodes synchronously, with no goroutines to stop.
var zstdDecoders sync.Pool

// maxDecodedMessage bounds what a response may decode to; OTLP responses are tiny.
const maxDecodedMessage = 64 << 20

func (grpcZstd) Decompress(r io.Reader) (io.Reader, error) {
	d, ok := zstdDecoders.Get().(*zstd.Decoder)
	if !ok {
		nd, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxDecodedMessage))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return &pooledZstdReader{d: nd}, nil
	}
	if err := d.Reset(r); err != nil {
		zstdDecoders.Put(d)
		return nil, fmt.Errorf("zstd: %w", err)
	}
	return &pooledZstdReader{d: d}, nil
}

// pooledZstdReader puts its decoder back at the end of the message. It is only a
// Reader: gRPC closes a decompressor that is an io.Closer, which for a zstd.Decoder
// would end it for good.
type pooledZstdReader struct{ d *zstd.Decoder }

func (p *pooledZstdReader) Read(b []byte) (int, error) {
	if p.d == nil {
		return 0, io.EOF
	}
	n, err := p.d.Read(b)
	if errors.Is(err, io.EOF) {
		// Not to keep the message's reader reachable from the pool.
		_ = p.d.Reset(nil)
		zstdDecoders.Put(p.d)
		p.d = nil
	}
	return n, err
}
