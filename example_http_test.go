package microtcp_test

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"

	"github.com/microtcp/microtcp"
	"github.com/microtcp/microtcp/link"
)

// An HTTP server on one virtual host and an http.Client on another: the
// listener goes to http.Serve and the Dialer into an http.Transport,
// nothing else changes.
func Example_http() {
	endA, endB := link.Pipe()
	client, err := microtcp.NewStack(endA, microtcp.Config{Addr: netip.MustParsePrefix("10.0.0.1/24")})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	server, err := microtcp.NewStack(endB, microtcp.Config{Addr: netip.MustParsePrefix("10.0.0.2/24")})
	if err != nil {
		log.Fatal(err)
	}
	defer server.Close()

	ln, err := server.Listen("tcp", ":80")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		fmt.Fprintf(w, "hello %s, this is %s", host, r.Host)
	})}
	go srv.Serve(ln)
	defer srv.Close()

	d := &microtcp.Dialer{Stack: client}
	hc := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	resp, err := hc.Get("http://10.0.0.2/")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Status)
	fmt.Printf("%s\n", body)
	// Output:
	// 200 OK
	// hello 10.0.0.1, this is 10.0.0.2
}
