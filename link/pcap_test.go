package link

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// pcapFile is a classic libpcap stream parsed by the tests' own reader.
type pcapFile struct {
	magic          uint32
	major, minor   uint16
	zone, sigfigs  uint32
	snaplen, ltype uint32
	records        []pcapRecord
}

type pcapRecord struct {
	sec, usec, incl, orig uint32
	data                  []byte
}

func parsePcap(t *testing.T, b []byte) pcapFile {
	t.Helper()
	if len(b) < 24 {
		t.Fatalf("pcap stream of %d bytes has no global header", len(b))
	}
	le := binary.LittleEndian
	f := pcapFile{
		magic: le.Uint32(b), major: le.Uint16(b[4:]), minor: le.Uint16(b[6:]),
		zone: le.Uint32(b[8:]), sigfigs: le.Uint32(b[12:]),
		snaplen: le.Uint32(b[16:]), ltype: le.Uint32(b[20:]),
	}
	b = b[24:]
	for len(b) > 0 {
		if len(b) < 16 {
			t.Fatalf("truncated record header (%d bytes)", len(b))
		}
		r := pcapRecord{sec: le.Uint32(b), usec: le.Uint32(b[4:]), incl: le.Uint32(b[8:]), orig: le.Uint32(b[12:])}
		if uint32(len(b)-16) < r.incl {
			t.Fatalf("record claims %d bytes, %d left", r.incl, len(b)-16)
		}
		r.data = b[16 : 16+r.incl]
		b = b[16+r.incl:]
		f.records = append(f.records, r)
	}
	return f
}

// fakeClock returns a Now func that starts at t0 and steps by 1.5 ms per call.
func fakeClock(t0 time.Time) func() time.Time {
	now := t0
	return func() time.Time {
		t := now
		now = now.Add(1500 * time.Microsecond)
		return t
	}
}

func TestCaptureRecordsReadsAndWrites(t *testing.T) {
	a, b := Pipe()
	defer b.Close()
	var out bytes.Buffer
	t0 := time.Unix(1700000000, 123456000)
	c, err := NewCapture(a, &out, CaptureConfig{LinkType: LinkTypeEthernet, Now: fakeClock(t0)})
	if err != nil {
		t.Fatal(err)
	}
	if out.Len() != 24 {
		t.Fatalf("after NewCapture the stream holds %d bytes, want the 24-byte global header", out.Len())
	}
	frames := [][]byte{frameN(1, 60), {}, frameN(3, 1514)}
	for _, fr := range frames[:2] {
		if _, err := c.Write(fr); err != nil {
			t.Fatal(err)
		}
	}
	b.Write(frames[2])
	buf := make([]byte, 2000)
	if n, err := c.Read(buf); err != nil || n != 1514 {
		t.Fatalf("Read = %d, %v", n, err)
	}
	// The frames also went through the link untouched.
	if got := readFrames(t, b, 2); !bytes.Equal(got[0], frames[0]) || len(got[1]) != 0 {
		t.Fatalf("peer got %x, %x", got[0], got[1])
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Err(); err != nil {
		t.Fatalf("Err() = %v", err)
	}

	f := parsePcap(t, out.Bytes())
	if f.magic != 0xa1b2c3d4 || f.major != 2 || f.minor != 4 || f.zone != 0 || f.sigfigs != 0 ||
		f.snaplen != 65535 || f.ltype != LinkTypeEthernet {
		t.Fatalf("global header %+v", f)
	}
	if len(f.records) != len(frames) {
		t.Fatalf("%d records, want %d", len(f.records), len(frames))
	}
	for i, r := range f.records {
		ts := t0.Add(time.Duration(i) * 1500 * time.Microsecond)
		want := pcapRecord{sec: uint32(ts.Unix()), usec: uint32(ts.Nanosecond() / 1000),
			incl: uint32(len(frames[i])), orig: uint32(len(frames[i]))}
		if r.sec != want.sec || r.usec != want.usec || r.incl != want.incl || r.orig != want.orig {
			t.Fatalf("record %d header %d.%06d incl %d orig %d, want %d.%06d incl %d orig %d",
				i, r.sec, r.usec, r.incl, r.orig, want.sec, want.usec, want.incl, want.orig)
		}
		if !bytes.Equal(r.data, frames[i]) {
			t.Fatalf("record %d data differs", i)
		}
	}
}

func TestCaptureSnaplen(t *testing.T) {
	a, b := Pipe()
	defer b.Close()
	var out bytes.Buffer
	c, err := NewCapture(a, &out, CaptureConfig{LinkType: LinkTypeRaw, Snaplen: 40})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(frameN(5, 100))
	c.Write(frameN(6, 20))
	f := parsePcap(t, out.Bytes())
	if f.snaplen != 40 || f.ltype != LinkTypeRaw || len(f.records) != 2 {
		t.Fatalf("header %+v with %d records", f, len(f.records))
	}
	if r := f.records[0]; r.incl != 40 || r.orig != 100 || !bytes.Equal(r.data, frameN(5, 100)[:40]) {
		t.Fatalf("long frame recorded incl %d orig %d", r.incl, r.orig)
	}
	if r := f.records[1]; r.incl != 20 || r.orig != 20 || !bytes.Equal(r.data, frameN(6, 20)) {
		t.Fatalf("short frame recorded incl %d orig %d", r.incl, r.orig)
	}
}

// failingWriter accepts limit bytes, then fails.
type failingWriter struct {
	limit int
	n     int
}

var errDiskFull = errors.New("disk full")

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n+len(p) > w.limit {
		return 0, errDiskFull
	}
	w.n += len(p)
	return len(p), nil
}

func TestCaptureWriterErrorNeverBreaksLink(t *testing.T) {
	a, b := Pipe()
	defer b.Close()
	w := &failingWriter{limit: 24 + 16 + 10}
	c, err := NewCapture(a, w, CaptureConfig{LinkType: LinkTypeEthernet})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 3 {
		if _, err := c.Write(frameN(i, 10)); err != nil {
			t.Fatalf("Write #%d = %v; capture errors must not reach the link", i, err)
		}
	}
	if got := readFrames(t, b, 3); !bytes.Equal(got[2], frameN(2, 10)) {
		t.Fatalf("link lost frames: %x", got)
	}
	if err := c.Err(); !errors.Is(err, errDiskFull) {
		t.Fatalf("Err() = %v, want %v", err, errDiskFull)
	}
	if w.n != 24+16+10 {
		t.Fatalf("%d bytes reached the writer, want header + one record", w.n)
	}
}

func TestNewCaptureErrors(t *testing.T) {
	a, b := Pipe()
	defer a.Close()
	defer b.Close()
	for _, tc := range []struct {
		name string
		w    *failingWriter
		cfg  CaptureConfig
		is   error
	}{
		{"header write fails", &failingWriter{limit: 0}, CaptureConfig{LinkType: 1}, errDiskFull},
		{"negative snaplen", &failingWriter{limit: 100}, CaptureConfig{LinkType: 1, Snaplen: -1}, nil},
		{"link type too large", &failingWriter{limit: 100}, CaptureConfig{LinkType: 1 << 16}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewCapture(a, tc.w, tc.cfg)
			if err == nil || c != nil {
				t.Fatalf("NewCapture = %v, %v; want an error", c, err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("error %v does not wrap %v", err, tc.is)
			}
		})
	}
	if _, err := NewCapture(nil, &bytes.Buffer{}, CaptureConfig{}); err == nil {
		t.Fatal("nil inner accepted")
	}
	if _, err := NewCapture(a, nil, CaptureConfig{}); err == nil {
		t.Fatal("nil writer accepted")
	}
}

// lockedBuffer lets the test read the stream while nothing writes.
type lockedBuffer struct {
	mu sync.Mutex
	bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.Buffer.Write(p)
}

func TestCaptureConcurrentRecordsStayWhole(t *testing.T) {
	const writers, per = 4, 200
	a, b := NewPipe(PipeConfig{QueueLen: writers * per})
	defer b.Close()
	var out lockedBuffer
	c, err := NewCapture(a, &out, CaptureConfig{LinkType: LinkTypeEthernet})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range per {
				c.Write(frameN(w*per+i, 64+w))
			}
		})
	}
	wg.Wait()
	f := parsePcap(t, out.Bytes())
	if len(f.records) != writers*per {
		t.Fatalf("%d records, want %d", len(f.records), writers*per)
	}
	for _, r := range f.records {
		i := index(r.data)
		if !bytes.Equal(r.data, frameN(i, 64+i/per)) {
			t.Fatalf("record for frame #%d is not whole", i)
		}
	}
}

func TestCaptureTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not on PATH: skipping the cross-check with Wireshark's reader")
	}
	path := filepath.Join(t.TempDir(), "cap.pcap")
	file, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	a, b := Pipe()
	defer b.Close()
	c, err := NewCapture(a, file, CaptureConfig{LinkType: LinkTypeEthernet})
	if err != nil {
		t.Fatal(err)
	}
	sizes := []int{60, 100, 1514}
	for i, s := range sizes {
		c.Write(frameN(i, s))
	}
	c.Close()
	if err := file.Close(); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tshark, "-r", path, "-T", "fields", "-e", "frame.len").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	var want []string
	for _, s := range sizes {
		want = append(want, strconv.Itoa(s))
	}
	if got := strings.Fields(string(out)); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("tshark frame lengths %v, want %v", got, want)
	}
}

func BenchmarkCapture(b *testing.B) {
	x, y := Pipe()
	defer y.Close()
	c, err := NewCapture(x, discard{}, CaptureConfig{LinkType: LinkTypeEthernet})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	f := make([]byte, 1500)
	buf := make([]byte, 2048)
	b.ReportAllocs()
	b.SetBytes(1500)
	for b.Loop() {
		c.Write(f)
		y.Read(buf)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
