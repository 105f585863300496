package link_test

import (
	"bytes"
	"fmt"

	"github.com/microtcp/microtcp/link"
)

// Two stacks would each drive one end; here the frames are written and read
// by hand, through a lossy wrapper and a capture.
func Example() {
	a, b := link.Pipe()
	defer b.Close()

	lossy := link.NewFaulty(a, link.FaultConfig{Seed: 1, Loss: 0.5})
	var pcap bytes.Buffer
	capture, err := link.NewCapture(lossy, &pcap, link.CaptureConfig{LinkType: link.LinkTypeEthernet})
	if err != nil {
		panic(err)
	}
	defer capture.Close()

	for i := range 10 {
		capture.Write([]byte{byte(i)})
	}
	st := lossy.Stats()
	fmt.Println("written:", st.Written, "kept:", st.Written == st.Delivered+st.Dropped)
	fmt.Println("pcap bytes:", pcap.Len() == 24+10*(16+1))
	// Output:
	// written: 10 kept: true
	// pcap bytes: true
}
