package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/microtcp/microtcp"
)

func fakeStats() microtcp.Stats {
	var s microtcp.Stats
	s.Link.FramesIn = 1234567
	s.TCP.SegmentsIn = 424242
	s.TCP.Delivered = 7
	return s
}

func get(t *testing.T, c *http.Client, url string) (int, string, http.Header) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", url, err)
	}
	return resp.StatusCode, string(body), resp.Header
}

func TestHandlerPage(t *testing.T) {
	ts := httptest.NewServer(newHandler(netip.MustParsePrefix("10.0.0.4/24"), fakeStats, ""))
	defer ts.Close()

	code, body, hdr := get(t, ts.Client(), ts.URL+"/")
	if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
		t.Fatalf("GET / = %d %q", code, hdr.Get("Content-Type"))
	}
	for _, want := range []string{"microtcp", "10.0.0.4/24", "1234567", "424242", `href="/"`, `href="/stats"`} {
		if !strings.Contains(body, want) {
			t.Errorf("GET / does not mention %q:\n%s", want, body)
		}
	}

	code, body, _ = get(t, ts.Client(), ts.URL+"/stats")
	var got microtcp.Stats
	if err := json.Unmarshal([]byte(body), &got); code != http.StatusOK || err != nil {
		t.Fatalf("GET /stats = %d, %v:\n%s", code, err, body)
	}
	if got != fakeStats() {
		t.Errorf("GET /stats decoded to %+v, want %+v", got, fakeStats())
	}

	if code, _, _ := get(t, ts.Client(), ts.URL+"/nothing-here"); code != http.StatusNotFound {
		t.Errorf("GET /nothing-here = %d, want 404", code)
	}
}

func TestHandlerSHA256(t *testing.T) {
	ts := httptest.NewServer(newHandler(netip.MustParsePrefix("10.0.0.4/24"), fakeStats, ""))
	defer ts.Close()
	for _, size := range []int{0, 1, 100 << 10} {
		body := bytes.Repeat([]byte("microtcp"), size/8+1)[:size]
		resp, err := ts.Client().Post(ts.URL+"/sha256", "application/octet-stream", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		sum := sha256.Sum256(body)
		want := fmt.Sprintf("%s %d\n", hex.EncodeToString(sum[:]), size)
		if resp.StatusCode != http.StatusOK || string(got) != want {
			t.Errorf("POST /sha256 of %d bytes = %d %q, want %q", size, resp.StatusCode, got, want)
		}
	}
}

func TestHandlerDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hello over microtcp\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(newHandler(netip.MustParsePrefix("10.0.0.4/24"), fakeStats, dir))
	defer ts.Close()
	if code, body, _ := get(t, ts.Client(), ts.URL+"/hello.txt"); code != http.StatusOK || body != "hello over microtcp\n" {
		t.Errorf("GET /hello.txt = %d %q", code, body)
	}
	if code, body, _ := get(t, ts.Client(), ts.URL+"/"); code != http.StatusOK || !strings.Contains(body, "hello.txt") {
		t.Errorf("GET / = %d %q, want a listing with hello.txt", code, body)
	}
	if code, body, _ := get(t, ts.Client(), ts.URL+"/stats"); code != http.StatusOK || !json.Valid([]byte(body)) {
		t.Errorf("GET /stats = %d %q, want JSON", code, body)
	}
}

func TestSelfSigned(t *testing.T) {
	now := time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)
	ips := []netip.Addr{netip.MustParseAddr("10.0.0.4"), netip.MustParseAddr("127.0.0.1")}
	cert, fp, err := selfSigned(ips, now)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if leaf.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("key algorithm %v, want ECDSA", leaf.PublicKeyAlgorithm)
	}
	if sum := sha256.Sum256(cert.Certificate[0]); fp != strings.ToUpper(hex.EncodeToString(sum[:])) {
		t.Errorf("fingerprint %s does not match the certificate", fp)
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	for _, name := range []string{"10.0.0.4", "127.0.0.1", "localhost"} {
		_, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, CurrentTime: now})
		if err != nil {
			t.Errorf("verify as %s: %v", name, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "10.0.0.9", Roots: roots, CurrentTime: now}); err == nil {
		t.Error("the certificate verified for 10.0.0.9, which it does not name")
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "localhost", Roots: roots, CurrentTime: now.Add(25 * time.Hour)}); err == nil {
		t.Error("the certificate still verified after 25 hours")
	}
}
