package cli

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/vidgen/vidgen/internal/catalog"
	"github.com/vidgen/vidgen/internal/job"
)

// imageField turns what --image names into the request's image field: a
// URL or data URI passes as given (the API checks it); anything else is a
// local file, read and sent as a data URI of its detected type, refused
// here above the API's limit.
func imageField(v string) (string, error) {
	switch {
	case v == "":
		return "", usagef("--image is required")
	case strings.HasPrefix(v, "https://"), strings.HasPrefix(v, "http://"), strings.HasPrefix(v, "data:"):
		return v, nil
	}
	return mediaFile(v, catalog.Image)
}

// mediaFile reads a local file for a media field of the kind and returns
// it as a data URI of its detected type, refusing what the API would: a
// type it does not take for the kind, or more than its limit decoded
// (job.MaxImageBytes, for every kind).
func mediaFile(path string, kind catalog.MediaKind) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", usagef("%s %s: %v (give a %s file, an https URL or a data URI)", kind, path, err, typeWords(kind))
	}
	if st.Size() > job.MaxImageBytes {
		return "", usagef("%s %s is %s; the API takes %ss up to %s (%d bytes): make it smaller or give an https URL",
			kind, path, size(st.Size()), kind, size(job.MaxImageBytes), job.MaxImageBytes)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", usagef("%s %s: %v", kind, path, err)
	}
	mime := http.DetectContentType(data)
	if kind == catalog.Audio {
		mime = audioType(mime)
	}
	if !job.MediaType(kind, mime) {
		return "", usagef("%s %s is %s; the API takes %s", kind, path, mime, typeWords(kind))
	}
	return "data:" + mime + ";base64," + base64.StdEncoding.EncodeToString(data), nil
}

// typeWords names the file types the API takes for a kind
// (job.MediaType), as messages give them.
func typeWords(kind catalog.MediaKind) string {
	switch kind {
	case catalog.Video:
		return "MP4, WebM or QuickTime"
	case catalog.Audio:
		return "MP3, WAV, MP4/AAC, Ogg or WebM audio"
	}
	return "PNG, JPEG or WebP"
}

// audioType is the name the API takes for an audio type that
// http.DetectContentType calls otherwise.
func audioType(sniffed string) string {
	switch sniffed {
	case "audio/wave":
		return "audio/wav"
	case "application/ogg":
		return "audio/ogg"
	}
	return sniffed
}

// size is a byte count for people: 4.0 MiB, 312 KiB, 17 B.
func size(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
