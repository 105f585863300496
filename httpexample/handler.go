package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/netip"

	"github.com/microtcp/microtcp"
)

// newHandler serves dir (or, when dir is "", the built-in page showing the
// stack's live counters) plus two small endpoints that exist in both cases:
//
//	GET  /stats   the counters as JSON (microtcp.Stats)
//	POST /sha256  reads the whole request body and answers its SHA-256 in
//	              hex and its length, to check uploads end to end
func newHandler(addr netip.Prefix, stats func() microtcp.Stats, dir string) http.Handler {
	mux := http.NewServeMux()
	if dir != "" {
		mux.Handle("/", http.FileServer(http.Dir(dir)))
	} else {
		mux.Handle("GET /{$}", statsPage{addr: addr, stats: stats})
	}
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		// The response is already committed; a failed write is the
		// client's disconnect and there is nobody left to tell.
		_ = enc.Encode(stats())
	})
	mux.HandleFunc("POST /sha256", func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		if err != nil {
			http.Error(w, fmt.Sprintf("reading the body: %v", err), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "%s %d\n", hex.EncodeToString(h.Sum(nil)), n)
	})
	return mux
}

// statsPage is the built-in front page.
type statsPage struct {
	addr  netip.Prefix
	stats func() microtcp.Stats
}

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>microtcp httpexample</title>
<style>body{font-family:sans-serif;margin:2em}td{padding:0 1em 0 0}pre{background:#f4f4f4;padding:1em}</style>
</head><body>
<h1>Hello from microtcp</h1>
<p>This page came from a Go <code>net/http</code> server whose TCP/IP is
<a href="https://github.com/microtcp/microtcp">microtcp</a>, a userspace stack, at {{.Addr}}.
It sees you as {{.Remote}}.</p>
<p><a href="/">refresh</a> · <a href="/stats">/stats as JSON</a></p>
<h2>Live counters</h2>
<table>
<tr><td>frames in / out</td><td>{{.S.Link.FramesIn}} / {{.S.Link.FramesOut}}</td></tr>
<tr><td>TCP segments in / out</td><td>{{.S.TCP.SegmentsIn}} / {{.S.TCP.SegmentsOut}}</td></tr>
<tr><td>TCP connections opened</td><td>{{.S.TCP.ConnectionsOpened}}</td></tr>
<tr><td>TCP retransmissions (fast / RTO)</td><td>{{.S.TCP.Retransmits}} ({{.S.TCP.FastRetransmits}} / {{.S.TCP.RTOs}})</td></tr>
<tr><td>TCP resets sent</td><td>{{.S.TCP.ResetsSent}}</td></tr>
<tr><td>UDP datagrams in / out</td><td>{{.S.UDP.InDatagrams}} / {{.S.UDP.OutDatagrams}}</td></tr>
<tr><td>ICMP echo requests answered</td><td>{{.S.ICMP.InEchoRequests}}</td></tr>
</table>
<h2>All counters</h2>
<pre>{{.JSON}}</pre>
</body></html>
`))

func (p statsPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := p.stats()
	js, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		http.Error(w, fmt.Sprintf("encoding the counters: %v", err), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store") // the counters are live
	_ = pageTemplate.Execute(w, struct {
		Addr   netip.Prefix
		Remote string
		S      microtcp.Stats
		JSON   string
	}{p.addr, r.RemoteAddr, s, string(js)})
}
