package cli

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/vidgen/vidgen/internal/job"
)

// imageTypes are the image types the API takes in a data URI.
var imageTypes = []string{"image/png", "image/jpeg", "image/webp"}

// imageField turns what --image (or a batch line's image_url) names into
// the request's image field: a URL or data URI passes as given (the API
// checks it); anything else is a local file, read and sent as a data URI
// of its detected type, refused here above the API's limit.
func imageField(v string) (string, error) {
	switch {
	case v == "":
		return "", usagef("--image is required")
	case strings.HasPrefix(v, "https://"), strings.HasPrefix(v, "http://"), strings.HasPrefix(v, "data:"):
		return v, nil
	}
	st, err := os.Stat(v)
	if err != nil {
		return "", usagef("image %s: %v (give a PNG, JPEG or WebP file, an https URL or a data URI)", v, err)
	}
	if st.Size() > job.MaxImageBytes {
		return "", usagef("image %s is %s; the API takes images up to %s (%d bytes): make it smaller or give an https URL",
			v, size(st.Size()), size(job.MaxImageBytes), job.MaxImageBytes)
	}
	data, err := os.ReadFile(v)
	if err != nil {
		return "", usagef("image %s: %v", v, err)
	}
	mime := http.DetectContentType(data)
	if !slices.Contains(imageTypes, mime) {
		return "", usagef("image %s is %s; the API takes PNG, JPEG or WebP", v, mime)
	}
	return "data:" + mime + ";base64," + base64.StdEncoding.EncodeToString(data), nil
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
