package wire

// Fields methods turn a checked view back into the field struct that encodes
// it, so a received header can be edited and re-encoded, and so tests can
// check that parse → fields → encode → parse is the identity.

// Fields returns the header fields of e.
func (e Ethernet) Fields() EthernetFields {
	return EthernetFields{Dst: e.Dst(), Src: e.Src(), EtherType: e.EtherType()}
}

// Fields returns the packet fields of a.
func (a ARP) Fields() ARPFields {
	return ARPFields{Op: a.Op(), SenderMAC: a.SenderMAC(), SenderIP: a.SenderIP(), TargetMAC: a.TargetMAC(), TargetIP: a.TargetIP()}
}

// Fields returns the header fields of ip. IPv4Fields has no options, so a
// header with options does not round-trip through it: TotalLen keeps the
// received value, options included.
func (ip IPv4) Fields() IPv4Fields {
	return IPv4Fields{
		TOS:            ip.TOS(),
		TotalLen:       ip.TotalLen(),
		ID:             ip.ID(),
		DontFragment:   ip.DontFragment(),
		MoreFragments:  ip.MoreFragments(),
		FragmentOffset: ip.FragmentOffset(),
		TTL:            ip.TTL(),
		Protocol:       ip.Protocol(),
		Src:            ip.Src(),
		Dst:            ip.Dst(),
	}
}

// Fields returns the header fields of m.
func (m ICMPv4) Fields() ICMPv4Fields {
	return ICMPv4Fields{Type: m.Type(), Code: m.Code(), Rest: m.Rest()}
}

// Fields returns the header fields of u (the length and checksum are
// derived by Encode).
func (u UDP) Fields() UDPFields {
	return UDPFields{SrcPort: u.SrcPort(), DstPort: u.DstPort()}
}

// Fields returns the header fields of t with its options decoded; the error
// is ParsedOptions' (an option ParseTCP let through whose length is wrong for
// its kind, such as an MSS of length 3).
func (t TCP) Fields() (TCPFields, error) {
	o, err := t.ParsedOptions()
	if err != nil {
		return TCPFields{}, err
	}
	return TCPFields{
		SrcPort: t.SrcPort(),
		DstPort: t.DstPort(),
		Seq:     t.Seq(),
		Ack:     t.Ack(),
		Flags:   t.Flags(),
		Window:  t.Window(),
		Urgent:  t.Urgent(),
		Options: o,
	}, nil
}
