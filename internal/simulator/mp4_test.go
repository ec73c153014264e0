package simulator

import (
	"encoding/binary"
	"fmt"
	"math"
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

// TestSamplesArePlayableMP4 checks each embedded video's structure, so
// that CI needs no ffmpeg: an ISO brand, a video track whose sample entry
// is avc1 (H.264), media data, and the duration its generations ask for.
func TestSamplesArePlayableMP4(t *testing.T) {
	for _, seconds := range []int{5, 10} {
		t.Run(fmt.Sprintf("%ds", seconds), func(t *testing.T) { checkSample(t, []byte(sampleVideo(seconds)), seconds) })
	}
	if sampleVideo(5) == sampleVideo(10) {
		t.Error("5 s and 10 s generations serve the same video")
	}
}

// movieDuration reads the duration in seconds from a moov's mvhd box:
// version and flags (4), then creation and modification times, timescale
// and duration, 32-bit in version 0 and 64-bit (but the timescale) in 1.
func movieDuration(moov []box) (float64, error) {
	mvhd := find(moov, "mvhd")
	if len(mvhd) != 1 || len(mvhd[0].payload) < 20 {
		return 0, fmt.Errorf("want one mvhd box, got %d", len(mvhd))
	}
	p := mvhd[0].payload
	var scale, units uint64
	switch p[0] {
	case 0:
		scale, units = uint64(binary.BigEndian.Uint32(p[12:])), uint64(binary.BigEndian.Uint32(p[16:]))
	case 1:
		if len(p) < 32 {
			return 0, fmt.Errorf("short mvhd version 1: %d bytes", len(p))
		}
		scale, units = uint64(binary.BigEndian.Uint32(p[20:])), binary.BigEndian.Uint64(p[24:])
	default:
		return 0, fmt.Errorf("mvhd version %d", p[0])
	}
	if scale == 0 {
		return 0, fmt.Errorf("mvhd timescale 0")
	}
	return float64(units) / float64(scale), nil
}

func checkSample(t *testing.T, data []byte, seconds int) {
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

	moov := find(top, "moov")[0].children
	if d, err := movieDuration(moov); err != nil || math.Abs(d-float64(seconds)) > 0.05 {
		t.Errorf("movie lasts %.3f s (%v), want %d s", d, err, seconds)
	}
	var videoTracks int
	for _, trak := range find(moov, "trak") {
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
