package tcp

import (
	"testing"
	"time"

	"github.com/microtcp/microtcp/core/wire"
)

// TestDSACKIsNoDuplicateACK: an ACK whose only SACK block reports a
// segment received twice (a D-SACK, RFC 2883 §4: the block lies below
// SEG.ACK) says nothing is missing, so it is no duplicate ACK (RFC 6675
// §2). Seen against Linux: a tail loss probe that resent the last segment
// because the ACKs were read late drew a D-SACK after our FIN went out;
// with one segment outstanding Early Retransmit's threshold is one, and
// the D-SACK triggered a spurious fast retransmit of the FIN.
func TestDSACKIsNoDuplicateACK(t *testing.T) {
	tests := []struct {
		name    string
		blocks  [][2]int // [left, right) relative to SND.UNA
		wantRxt bool
	}{
		{name: "D-SACK below SEG.ACK", blocks: [][2]int{{-1000, 0}}},
		{name: "no SACK", wantRxt: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, c := established(t, Config{NoTimestamps: true}, wire.TCPOptions{MSS: 1000, SACKPermitted: true})
			c.SetNoDelay(true)
			if _, err := c.Write(p.now, make([]byte, 1000), p.out); err != nil {
				t.Fatal(err)
			}
			data := one(t, p.out.take())
			p.now = p.now.Add(10 * time.Millisecond)
			none(t, p.send(seg{ack: sq(data.f.Seq + 1000)}))
			if err := c.Close(p.now, p.out); err != nil {
				t.Fatal(err)
			}
			fin := one(t, p.out.take())
			wantFlags(t, fin, wire.FlagFIN|wire.FlagACK)
			una := c.sndUna
			o := wire.TCPOptions{NumSACK: len(tt.blocks)}
			for i, b := range tt.blocks {
				o.SACK[i] = wire.SACKBlock{Left: una.Add(uint32(b[0])), Right: una.Add(uint32(b[1]))}
			}
			got := p.send(seg{ack: sq(una), opts: &o})
			st := p.e.Stats()
			if tt.wantRxt {
				// Early Retransmit (RFC 5827): one real duplicate ACK with
				// one segment outstanding resends it. This row shows the
				// D-SACK row would fail for the right reason.
				if len(got) != 1 || got[0].f.Seq != fin.f.Seq || st.FastRetransmits != 1 {
					t.Fatalf("plain duplicate ACK: sent %v, stats %+v; want the FIN resent", got, st)
				}
				return
			}
			none(t, got)
			if st.FastRetransmits != 0 || st.Retransmits != 0 {
				t.Fatalf("D-SACK triggered a retransmission: stats %+v", st)
			}
		})
	}
}
