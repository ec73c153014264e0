package simulator

import (
	"encoding/binary"
	"fmt"
	"testing"
)

// box is one ISO BMFF box: its type, its payload and the boxes nested in it
// for the container types this test descends into.
type box struct {
	typ      string
	payload  []byte
	children []box
}

// isContainer reports whether a box's payload is nothing but boxes.
func isContainer(typ string) bool {
	switch typ {
	case "moov", "trak", "mdia", "minf", "stbl":
		return true
	}
	return false
}

func parseBoxes(data []byte) ([]box, error) {
	var boxes []box
	for len(data) > 0 {
		if len(data) < 8 {
			return nil, fmt.Errorf("%d stray bytes", len(data))
		}
		size := uint64(binary.BigEndian.Uint32(data))
		typ := string(data[4:8])
		header := uint64(8)
		switch size {
		case 0: // extends to the end
			size = uint64(len(data))
		case 1: // 64-bit size follows
			if len(data) < 16 {
				return nil, fmt.Errorf("box %s: short large size", typ)
			}
			size, header = binary.BigEndian.Uint64(data[8:]), 16
		}
		if size < header || size > uint64(len(data)) {
			return nil, fmt.Errorf("box %s: size %d out of range", typ, size)
		}
		b := box{typ: typ, payload: data[header:size]}
		if isContainer(typ) {
			children, err := parseBoxes(b.payload)
			if err != nil {
				return nil, fmt.Errorf("in %s: %w", typ, err)
			}
			b.children = children
		}
		boxes = append(boxes, b)
		data = data[size:]
	}
	return boxes, nil
}

func find(boxes []box, typ string) []box {
	var found []box
	for _, b := range boxes {
		if b.typ == typ {
			found = append(found, b)
		}
	}
	return found
}

// TestSampleIsPlayableMP4 checks the embedded video's structure, so that CI
// needs no ffmpeg: an ISO brand, a video track whose sample entry is avc1
// (H.264), and media data.
func TestSampleIsPlayableMP4(t *testing.T) {
	data := []byte(sampleMP4)
	if len(data) > 60<<10 {
		t.Errorf("sample is %d bytes, keep it under 60 KiB", len(data))
	}
	top, err := parseBoxes(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(top) == 0 || top[0].typ != "ftyp" || string(top[0].payload[:4]) != "isom" {
		t.Fatalf("does not start with an isom ftyp box: %+v", top)
	}
	order := map[string]int{}
	for i, b := range top {
		order[b.typ] = i
	}
	if _, ok := order["moov"]; !ok || order["moov"] > order["mdat"] {
		t.Errorf("moov must come before mdat for streaming (faststart): order %v", order)
	}
	mdat := find(top, "mdat")
	if len(mdat) != 1 || len(mdat[0].payload) == 0 {
		t.Fatalf("want one non-empty mdat, got %d", len(mdat))
	}

	var videoTracks int
	for _, trak := range find(find(top, "moov")[0].children, "trak") {
		mdia := find(trak.children, "mdia")
		if len(mdia) != 1 {
			t.Fatal("trak without one mdia")
		}
		hdlr := find(mdia[0].children, "hdlr")
		// hdlr: version+flags (4), pre_defined (4), handler_type (4).
		if len(hdlr) != 1 || len(hdlr[0].payload) < 12 || string(hdlr[0].payload[8:12]) != "vide" {
			continue
		}
		videoTracks++
		stbl := find(find(find(mdia[0].children, "minf")[0].children, "stbl")[0].children, "stsd")
		// stsd: version+flags (4), entry count (4), then the first sample
		// entry: size (4) and format (4).
		if len(stbl) != 1 || len(stbl[0].payload) < 16 {
			t.Fatal("video track without a sample description")
		}
		stsd := stbl[0].payload
		if n := binary.BigEndian.Uint32(stsd[4:]); n < 1 {
			t.Fatal("stsd has no entries")
		}
		if format := string(stsd[12:16]); format != "avc1" {
			t.Errorf("sample entry is %q, want avc1", format)
		}
	}
	if videoTracks != 1 {
		t.Fatalf("found %d video tracks, want 1", videoTracks)
	}
}
