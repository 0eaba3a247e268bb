// Command steady is the helper of the steady-state benchmark (scripts/bench-steady.sh,
// issue 24). One static binary, copied into the booted systemd host and into the
// benchmark's containers, with three parts:
//
//   - steady sink: a minimal OTLP/HTTP receiver that counts what it is sent and how
//     late it came. It is the receiver of every shipper measured (podexporter and the
//     OpenTelemetry Collector's journald receiver), so lines are counted the same way
//     for both: at the receiver, once acknowledged. It decodes each request with the
//     OTLP protobuf types and does no more, so its own CPU stays out of the way on a
//     2-vCPU machine.
//   - steady write: a container's log writer at a fixed rate (or as fast as it can for
//     a fixed count), each line carrying its writer, a sequence number and the time it
//     was written, so that the sink can tell end-to-end latency, loss and duplicates.
//   - steady fill: journal filler over journald's native protocol, conmon-shaped
//     entries with incompressible messages, until the journal directory reaches a size:
//     the gigabytes of archived files a real host accumulates.
//
// It is built with CGO_ENABLED=0 so that it runs in the busybox test image as well as
// in the Debian host.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "sink":
		err = runSink(os.Args[2:])
	case "write":
		err = runWrite(os.Args[2:])
	case "fill":
		err = runFill(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "steady:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: steady sink|write|fill [flags] (steady CMD -h for the flags)")
	os.Exit(2)
}
