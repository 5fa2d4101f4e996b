package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	rpprof "runtime/pprof"
)

// profileFlags let anyone see where perch spends time and memory:
// a CPU profile of the whole run, a heap profile at exit, or live pprof
// on a loopback address (go tool pprof http://ADDR/debug/pprof/heap).
type profileFlags struct {
	cpu, mem, addr string
}

func (p *profileFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&p.cpu, "cpuprofile", "", "write a CPU profile of the whole run to `FILE`")
	fs.StringVar(&p.mem, "memprofile", "", "write a heap profile to `FILE` at exit")
	fs.StringVar(&p.addr, "pprof", "", "serve net/http/pprof on this loopback `ADDR` (e.g. 127.0.0.1:6060)")
}

// start begins what was asked and returns the function that finishes it
// (stop the CPU profile, write the heap profile, close the listener).
func (p profileFlags) start(stderr io.Writer) (stop func(), err error) {
	var stops []func()
	stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	if p.addr != "" {
		host, _, err := net.SplitHostPort(p.addr)
		if err != nil {
			return stop, usageError{fmt.Errorf("--pprof: %w", err)}
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			// Profiles show config values and memory contents: never off the machine.
			return stop, usageError{fmt.Errorf("--pprof %s: only loopback addresses are allowed", p.addr)}
		}
		ln, err := net.Listen("tcp", p.addr)
		if err != nil {
			return stop, fmt.Errorf("--pprof: %w", err)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		srv := &http.Server{Handler: mux}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				fmt.Fprintf(stderr, "perch: pprof: %v\n", err)
			}
		}()
		stops = append(stops, func() { srv.Close() })
	}
	if p.cpu != "" {
		f, err := os.Create(p.cpu)
		if err != nil {
			stop()
			return func() {}, fmt.Errorf("--cpuprofile: %w", err)
		}
		if err := rpprof.StartCPUProfile(f); err != nil {
			f.Close()
			stop()
			return func() {}, fmt.Errorf("--cpuprofile: %w", err)
		}
		stops = append(stops, func() { rpprof.StopCPUProfile(); f.Close() })
	}
	if p.mem != "" {
		path := p.mem
		stops = append(stops, func() {
			f, err := os.Create(path)
			if err != nil {
				fmt.Fprintf(stderr, "perch: --memprofile: %v\n", err)
				return
			}
			defer f.Close()
			runtime.GC() // up-to-date live heap
			if err := rpprof.Lookup("heap").WriteTo(f, 0); err != nil {
				fmt.Fprintf(stderr, "perch: --memprofile: %v\n", err)
			}
		})
	}
	return stop, nil
}
