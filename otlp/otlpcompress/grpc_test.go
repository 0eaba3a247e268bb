package otlpcompress

import (
	"bytes"
	"io"
	"testing"

	"google.golang.org/grpc/encoding"
)

// TestGRPCCompressorsRegistered checks that gRPC finds ours under both names: the
// gzip one must have replaced gRPC's own, which registers in its init too.
func TestGRPCCompressorsRegistered(t *testing.T) {
	if _, ok := encoding.GetCompressor(Gzip).(grpcGzip); !ok {
		t.Errorf("gzip compressor is %T, want klauspost's", encoding.GetCompressor(Gzip))
	}
	if _, ok := encoding.GetCompressor(Zstd).(grpcZstd); !ok {
		t.Errorf("zstd compressor is %T", encoding.GetCompressor(Zstd))
	}
}

// TestGRPCRoundTrip compresses and decompresses messages as gRPC does, several
// times over to cross the pools, and closes the reader where gRPC would.
func TestGRPCRoundTrip(t *testing.T) {
	for _, name := range []string{Gzip, Zstd} {
		c := encoding.GetCompressor(name)
		for i, plain := range [][]byte{payload(1000), payload(3), {}, payload(5000)} {
			var wire bytes.Buffer
			w, err := c.Compress(&wire)
			if err != nil {
				t.Fatal(err)
			}
			// gRPC may write a message in pieces.
			half := len(plain) / 2
			if _, err := w.Write(plain[:half]); err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(plain[half:]); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err == nil {
				t.Errorf("%s: a second Close did not fail", name)
			}
			r, err := c.Decompress(bytes.NewReader(wire.Bytes()))
			if err != nil {
				t.Fatalf("%s message %d: %v", name, i, err)
			}
			if _, ok := r.(io.Closer); ok {
				t.Errorf("%s: the decompressor is an io.Closer, which gRPC would close", name)
			}
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatalf("%s message %d: %v", name, i, err)
			}
			if !bytes.Equal(got, plain) {
				t.Errorf("%s message %d: %d bytes came back as %d different ones", name, i, len(plain), len(got))
			}
		}
	}
}

// TestGRPCDecompressGarbage fails on what is not compressed.
func TestGRPCDecompressGarbage(t *testing.T) {
	for _, name := range []string{Gzip, Zstd} {
		r, err := encoding.GetCompressor(name).Decompress(bytes.NewReader([]byte("not compressed at all")))
		if err == nil {
			_, err = io.ReadAll(r)
		}
		if err == nil {
			t.Errorf("%s: garbage decompressed without error", name)
		}
	}
}
