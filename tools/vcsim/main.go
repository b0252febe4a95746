// Command vcsim runs the govmomi vSphere simulator (a SOAP vCenter at /sdk)
// for nestlab's integration tests and demo.
//
// Debian's golang-github-vmware-govmomi-dev (0.24.2) ships the simulator
// library but no vcsim command, so this is our own small main. Build it with
// tools/vcsim/build.sh (GOPATH mode against /usr/share/gocode).
package main

import (
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// propertyCollector replaces the simulator's PropertyCollector to make Fetch
// safe.
//
// WHY: pyvmomi reads a managed object's attribute (vm.snapshot,
// vm.parentVApp, ...) with the undocumented PropertyCollector.Fetch call. In
// govmomi 0.24.2 Fetch indexes MissingSet[0] when the property is simply
// unset, which panics inside the HTTP handler: the connection drops and the
// client sees RemoteDisconnected instead of None. We recover from that panic
// and answer with an empty FetchResponse, which pyvmomi decodes as None, as a
// real vCenter would.
type propertyCollector struct {
	simulator.PropertyCollector
}

// The request and response types of Fetch live in govmomi's simulator/internal
// package, which Go forbids us to import. So Fetch takes its request as
// interface{} (the simulator dispatches by reflection, and *internal.Fetch is
// assignable to it), forwards it by reflection, and answers the failure case
// with fetchBody, a copy of internal.FetchBody that marshals to the same XML.
type fetchResponse struct {
	Returnval types.AnyType `xml:"returnval,omitempty,typeattr"`
}

type fetchBody struct {
	Res    *fetchResponse `xml:"FetchResponse,omitempty"`
	Fault_ *soap.Fault    `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault,omitempty"`
}

func (b *fetchBody) Fault() *soap.Fault { return b.Fault_ }

// Fetch calls the stock Fetch and turns its panic into an empty answer.
func (pc *propertyCollector) Fetch(ctx *simulator.Context, req interface{}) (res soap.HasFault) {
	defer func() {
		if r := recover(); r != nil {
			if simulator.Trace {
				log.Printf("Fetch %+v: unset property, answering empty (%v)", req, r)
			}
			res = &fetchBody{Res: new(fetchResponse)}
		}
	}()
	stock := reflect.ValueOf(&pc.PropertyCollector).MethodByName("Fetch")
	out := stock.Call([]reflect.Value{reflect.ValueOf(ctx), reflect.ValueOf(req)})
	return out[0].Interface().(soap.HasFault)
}

// parseMethodDelay parses "CreateVM_Task=50,PowerOnVM_Task=2000" (ms).
func parseMethodDelay(s string) (map[string]int, error) {
	delays := map[string]int{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, ms, ok := strings.Cut(item, "=")
		n, err := strconv.Atoi(strings.TrimSpace(ms))
		if !ok || err != nil || n < 0 || strings.TrimSpace(name) == "" {
			return nil, fmt.Errorf("bad -method-delay item %q (want Method=milliseconds)", item)
		}
		delays[strings.TrimSpace(name)] = n
	}
	return delays, nil
}

// writeReadyFile writes {"url", "port", "pid"} atomically (temp file +
// rename), so a harness polling for the file never reads half of it.
func writeReadyFile(path, sdkURL string, port int) error {
	data, err := json.Marshal(struct {
		URL  string `json:"url"`
		Port int    `json:"port"`
		PID  int    `json:"pid"`
	}{sdkURL, port, os.Getpid()})
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	_, err = tmp.Write(append(data, '\n'))
	if err == nil {
		err = tmp.Chmod(0o644) // CreateTemp makes it 0600
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// startServer binds and starts serving. NewServer panics when it cannot
// listen (port in use): turn that into an error so main still cleans up.
func startServer(svc *simulator.Service) (s *simulator.Server, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return svc.NewServer(), nil
}

func main() {
	log.SetFlags(log.LstdFlags)
	log.SetPrefix("vcsim: ")

	listen := flag.String("listen", "127.0.0.1:8989", "host:port to listen on (port 0 picks a free port)")
	useTLS := flag.Bool("tls", true, "serve https with the simulator's built-in localhost certificate")
	username := flag.String("username", "", "login user name (the password is enforced only if both -username and -password are set)")
	password := flag.String("password", "", "login password")

	m := simulator.VPX()
	flag.IntVar(&m.Datacenter, "dc", 1, "number of datacenters")
	flag.IntVar(&m.Cluster, "cluster", 1, "clusters per datacenter")
	flag.IntVar(&m.ClusterHost, "host", 3, "hosts per cluster")
	flag.IntVar(&m.Host, "standalone-host", 0, "standalone hosts per datacenter")
	flag.IntVar(&m.Datastore, "ds", 1, "number of datastores (mounted on every host)")
	flag.IntVar(&m.Machine, "vm", 0, "VMs per standalone host and per cluster, in its root pool (0: empty inventory)")
	flag.IntVar(&m.Pool, "pool", 0, "child resource pools per cluster")
	flag.IntVar(&m.Portgroup, "pg", 1, "distributed portgroups per datacenter (0: no DVS either)")

	delay := flag.Int("delay", 0, "milliseconds added to every SOAP call")
	methodDelay := flag.String("method-delay", "", "per-method extra delay, e.g. CreateVM_Task=50,PowerOnVM_Task=2000 (ms)")
	jitter := flag.Float64("jitter", 0, "delay jitter: the delay varies by a normal factor with this standard deviation")
	flag.DurationVar(&simulator.SessionIdleTimeout, "session-idle-timeout", 0, "expire sessions idle this long (0: never)")
	flag.BoolVar(&simulator.Trace, "trace", false, "log SOAP requests and responses to stderr")
	readyFile := flag.String("ready-file", "", "when listening, write {\"url\",\"port\",\"pid\"} JSON to this path")
	flag.Parse()

	if flag.NArg() > 0 {
		log.Fatalf("unexpected arguments: %v", flag.Args())
	}
	delays, err := parseMethodDelay(*methodDelay)
	if err != nil {
		log.Fatal(err)
	}
	m.DelayConfig = simulator.DelayConfig{Delay: *delay, MethodDelay: delays, DelayJitter: *jitter}

	// Create builds the inventory (and /tmp/govcsim-* datastore directories).
	if err = m.Create(); err != nil {
		m.Remove()
		log.Fatalf("creating inventory: %v", err)
	}

	// Swap in the panic-safe PropertyCollector under the same reference.
	// (Per-session collectors are cloned from this object's type.)
	pc := new(propertyCollector)
	pc.Self = m.ServiceContent.PropertyCollector
	simulator.Map.Put(pc)

	// The simulator only checks the password when Listen carries user info;
	// otherwise any non-empty user/password pair is accepted.
	m.Service.Listen = &url.URL{Host: *listen}
	if *username != "" && *password != "" {
		m.Service.Listen.User = url.UserPassword(*username, *password)
	}
	if *useTLS {
		m.Service.TLS = new(tls.Config)
	}

	s, err := startServer(m.Service)
	if err != nil {
		m.Remove()
		log.Fatalf("starting server: %v", err)
	}
	u := *s.URL
	u.User = nil // never publish the credentials
	sdkURL := u.String()
	port := s.Listener.Addr().(*net.TCPAddr).Port

	if *readyFile != "" {
		if err = writeReadyFile(*readyFile, sdkURL, port); err != nil {
			s.Close()
			m.Remove()
			log.Fatalf("writing ready file: %v", err)
		}
	}
	// os.Stdout is unbuffered, so this line reaches a pipe at once.
	fmt.Printf("vcsim listening on %s\n", sdkURL)

	// Stop on SIGTERM (test harnesses) as well as SIGINT, and remove the
	// temporary datastore directories so /tmp/govcsim-* don't pile up.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	got := <-sig
	log.Printf("received %v, shutting down", got)
	// Close waits for running requests; a long WaitForUpdatesEx or a delayed
	// call must not hold up the exit, so give it a bounded grace period.
	closed := make(chan struct{})
	go func() {
		s.CloseClientConnections()
		s.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(3 * time.Second):
		log.Print("requests still running after 3s; exiting anyway")
	}
	m.Remove()
	if *readyFile != "" {
		_ = os.Remove(*readyFile)
	}
	os.Exit(0)
}
