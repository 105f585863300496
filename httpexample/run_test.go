package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/microtcp/microtcp"
	"github.com/microtcp/microtcp/internal/netnstest"
)

// running is one run() in the background.
type running struct {
	ep     endpoints
	cancel context.CancelFunc
	done   chan error
	ended  bool
}

// startRun starts run with o and waits until it is ready. The test fails
// if run returns first. Cleanup stops it if the test did not.
func startRun(t *testing.T, o options) *running {
	t.Helper()
	o.Out = testWriter{t}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	ready := make(chan endpoints, 1)
	go func() { r.done <- run(ctx, o, func(ep endpoints) { ready <- ep }) }()
	select {
	case r.ep = <-ready:
	case err := <-r.done:
		cancel()
		r.ended = true
		t.Fatalf("run returned before it was ready: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("run did not become ready within 30s")
	}
	t.Cleanup(func() {
		if !r.ended {
			r.cancel()
			<-r.done
		}
	})
	return r
}

// stop cancels run's context and checks that run returns nil promptly.
func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	r.ended = true
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("run after cancel = %v, want nil", err)
		}
	case <-time.After(30 * time.Second):
		buf := make([]byte, 1<<20)
		t.Fatalf("run did not return within 30s of cancel; goroutines:\n%s", buf[:runtime.Stack(buf, true)])
	}
}

// checkGoroutines waits until the goroutine count is back to baseline:
// goroutines that have been told to end (closed connections of the
// kernel's http.Transport) take a moment to be scheduled and return.
func checkGoroutines(t *testing.T, baseline int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > baseline {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before run:\n%s", runtime.NumGoroutine(), baseline, buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
		time.Sleep(5 * time.Millisecond) // polling a condition, not synchronising
	}
}

// pipeOptions are defaults with ephemeral kernel ports.
func pipeOptions() options {
	o := defaultOptions()
	o.Listen = "127.0.0.1:0"
	o.EchoListen = "127.0.0.1:0"
	return o
}

// kernelClient is an http.Client of the host's own TCP/IP, ignoring any
// proxy settings of the environment.
func kernelClient() *http.Client {
	return &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
			ForceAttemptHTTP2: true,
		},
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// curl runs the real curl binary, skipping the calling (sub)test when it
// is not installed.
func curl(t *testing.T, args ...string) []byte {
	t.Helper()
	path := netnstest.RequireCommand(t, "curl")
	args = append([]string{"-sS", "--fail", "--noproxy", "*", "--max-time", "60"}, args...)
	return netnstest.Output(t, exec.Command(path, args...))
}

func TestRunPage(t *testing.T) {
	baseline := runtime.NumGoroutine()
	o := pipeOptions()
	o.Echo = true
	o.Pcap = filepath.Join(t.TempDir(), "server.pcap")
	r := startRun(t, o)
	if !strings.HasPrefix(r.ep.URL, "http://127.0.0.1:") {
		t.Fatalf("URL %q, want the kernel forwarder on 127.0.0.1", r.ep.URL)
	}
	c := kernelClient()

	t.Run("page", func(t *testing.T) {
		code, body, _ := get(t, c, r.ep.URL)
		if code != http.StatusOK || !strings.Contains(body, "microtcp") {
			t.Fatalf("GET / = %d:\n%s", code, body)
		}
	})
	t.Run("stats", func(t *testing.T) {
		code, body, hdr := get(t, c, r.ep.URL+"stats")
		var s microtcp.Stats
		if err := json.Unmarshal([]byte(body), &s); code != http.StatusOK || err != nil {
			t.Fatalf("GET /stats = %d %q, %v:\n%s", code, hdr.Get("Content-Type"), err, body)
		}
		// This very request crossed the server stack's TCP.
		if s.TCP.SegmentsIn == 0 || s.TCP.SegmentsOut == 0 || s.TCP.ConnectionsOpened == 0 || s.Link.FramesIn == 0 {
			t.Errorf("counters after a request: %+v", s.TCP)
		}
	})
	t.Run("upload", func(t *testing.T) {
		body := randomBytes(t, 5, 16<<20)
		resp, err := c.Post(r.ep.URL+"sha256", "application/octet-stream", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := fmt.Sprintf("%s %d\n", sha(body), len(body)); err != nil || string(got) != want {
			t.Errorf("POST /sha256 = %d %q (%v), want %q", resp.StatusCode, got, err, want)
		}
	})
	t.Run("curl", func(t *testing.T) {
		if out := curl(t, r.ep.URL); !bytes.Contains(out, []byte("microtcp")) {
			t.Errorf("curl %s:\n%s", r.ep.URL, out)
		}
	})
	t.Run("echo", func(t *testing.T) {
		conn := dialKernel(t, r.ep.Echo)
		msg := randomBytes(t, 6, 1<<20)
		go func() {
			conn.Write(msg)
			conn.CloseWrite()
		}()
		got, err := io.ReadAll(conn)
		if err != nil || !bytes.Equal(got, msg) {
			t.Errorf("TCP echo through %s returned %d bytes (%v), want the %d sent", r.ep.Echo, len(got), err, len(msg))
		}
	})

	// For the log: how hard the server stack's TCP had to work.
	_, body, _ := get(t, c, r.ep.URL+"stats")
	var s microtcp.Stats
	if err := json.Unmarshal([]byte(body), &s); err == nil {
		t.Logf("server TCP: %d segments in, %d out, %d retransmits (%d fast, %d RTOs), link frames in %d out %d",
			s.TCP.SegmentsIn, s.TCP.SegmentsOut, s.TCP.Retransmits, s.TCP.FastRetransmits, s.TCP.RTOs, s.Link.FramesIn, s.Link.FramesOut)
	}
	c.CloseIdleConnections()
	r.stop(t)
	checkGoroutines(t, baseline)
	checkPcap(t, o.Pcap)
}

// checkPcap reads a capture and checks that it is a well-formed Ethernet
// pcap holding ARP and TCP frames.
func checkPcap(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 24 || binary.LittleEndian.Uint32(b) != 0xa1b2c3d4 || binary.LittleEndian.Uint32(b[20:]) != 1 {
		t.Fatalf("%s does not start with an Ethernet pcap header: % x", path, b[:min(len(b), 24)])
	}
	var frames, arp, tcp int
	for rest := b[24:]; len(rest) > 0; frames++ {
		if len(rest) < 16 {
			t.Fatalf("record %d: truncated header", frames)
		}
		incl := int(binary.LittleEndian.Uint32(rest[8:]))
		if len(rest) < 16+incl {
			t.Fatalf("record %d: %d bytes announced, %d left", frames, incl, len(rest)-16)
		}
		f := rest[16 : 16+incl]
		rest = rest[16+incl:]
		if len(f) < 14 {
			continue
		}
		switch binary.BigEndian.Uint16(f[12:]) {
		case 0x0806:
			arp++
		case 0x0800:
			if len(f) >= 34 && f[14+9] == 6 {
				tcp++
			}
		}
	}
	t.Logf("%s: %d frames, %d ARP, %d TCP", path, frames, arp, tcp)
	if arp == 0 || tcp < 100 {
		t.Errorf("%s: %d ARP and %d TCP frames; want ARP and the test's TCP traffic", path, arp, tcp)
	}
}

func TestRunFiles(t *testing.T) {
	dir := t.TempDir()
	big := randomBytes(t, 7, 16<<20)
	if err := os.WriteFile(filepath.Join(dir, "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	want := sha(big)
	small := randomBytes(t, 8, 1<<20)
	if err := os.WriteFile(filepath.Join(dir, "small.bin"), small, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, useTLS := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", useTLS), func(t *testing.T) {
			baseline := runtime.NumGoroutine()
			o := pipeOptions()
			o.Dir = dir
			o.TLS = useTLS
			r := startRun(t, o)
			scheme := "http://"
			if useTLS {
				scheme = "https://"
			}
			if !strings.HasPrefix(r.ep.URL, scheme) {
				t.Fatalf("URL %q, want %s", r.ep.URL, scheme)
			}
			c := kernelClient()
			resp, err := c.Get(r.ep.URL + "big.bin")
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK || sha(got) != want {
				t.Fatalf("GET big.bin = %d, %d bytes, %v: sha256 %s, want %s", resp.StatusCode, len(got), err, sha(got), want)
			}
			if useTLS && (resp.TLS == nil || resp.ProtoMajor != 2) {
				t.Errorf("response over %s, TLS %v; want HTTP/2 over TLS", resp.Proto, resp.TLS != nil)
			}
			t.Run("concurrent", func(t *testing.T) {
				// Separate connections, so the forwarder relays them side by side.
				const n = 16
				errs := make(chan error, n)
				for range n {
					go func() {
						cc := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
							TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true}}
						resp, err := cc.Get(r.ep.URL + "small.bin")
						if err != nil {
							errs <- err
							return
						}
						got, err := io.ReadAll(resp.Body)
						resp.Body.Close()
						if err == nil && !bytes.Equal(got, small) {
							err = fmt.Errorf("got %d bytes, sha256 %s, want %d, %s", len(got), sha(got), len(small), sha(small))
						}
						errs <- err
					}()
				}
				for range n {
					if err := <-errs; err != nil {
						t.Error(err)
					}
				}
			})
			t.Run("curl", func(t *testing.T) {
				args := []string{r.ep.URL + "big.bin"}
				if useTLS {
					args = append([]string{"-k"}, args...)
				}
				if got := curl(t, args...); sha(got) != want {
					t.Errorf("curl downloaded %d bytes, sha256 %s, want %s", len(got), sha(got), want)
				}
			})
			c.CloseIdleConnections()
			r.stop(t)
			checkGoroutines(t, baseline)
		})
	}
}

// TestRunFailures: run reports what went wrong and leaves nothing behind.
func TestRunFailures(t *testing.T) {
	busy := listenKernel(t)
	tests := []struct {
		name string
		edit func(*options)
		want string
	}{
		{"listen address in use", func(o *options) { o.Listen = busy.Addr().String() }, "forwarder"},
		{"bad options", func(o *options) { o.Tap, o.Tun = "a", "b" }, "exclude"},
		{"pcap in a missing directory", func(o *options) { o.Pcap = filepath.Join(t.TempDir(), "no", "x.pcap") }, "-pcap"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			baseline := runtime.NumGoroutine()
			o := pipeOptions()
			o.Out = testWriter{t}
			tt.edit(&o)
			err := run(context.Background(), o, func(endpoints) { t.Error("ready called") })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("run = %v, want an error mentioning %q", err, tt.want)
			}
			checkGoroutines(t, baseline)
		})
	}
}
