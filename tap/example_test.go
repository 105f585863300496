package tap_test

import (
	"fmt"
	"log"
	"net/netip"

	"github.com/microtcp/microtcp/tap"
)

// A stack on a TAP device: the host side gets 10.0.0.5/24, and the stack
// answers as 10.0.0.4 on the same link, so `curl http://10.0.0.4/` from the
// host reaches it. Needs CAP_NET_ADMIN; run it inside a network namespace
// you created if you only want to try it.
func ExampleOpen() {
	dev, err := tap.Open(tap.Config{Name: "mtcp0", HostAddr: netip.MustParsePrefix("10.0.0.5/24")})
	if err != nil {
		log.Fatal(err) // says what is missing: CAP_NET_ADMIN, /dev/net/tun…
	}
	defer dev.Close()
	fmt.Println("opened", dev.Name(), dev.Mode())
	// The stack takes the device as its link:
	//
	//	st, err := microtcp.NewStack(dev, microtcp.Config{Addr: netip.MustParsePrefix("10.0.0.4/24")})
	//	ln, err := st.Listen("tcp", ":80")
	//	http.Serve(ln, handler)
}
