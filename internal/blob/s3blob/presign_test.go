package s3blob_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/vidgen/vidgen/internal/awstest"
	"github.com/vidgen/vidgen/internal/blob"
	"github.com/vidgen/vidgen/internal/blob/blobtest"
	"github.com/vidgen/vidgen/internal/blob/s3blob"
	"github.com/vidgen/vidgen/internal/clock"
)

// A presigned link downloads the object with plain net/http, no
// credentials, and says when it expires: signed at the clock's time, for
// the TTL. (moto does not enforce expiry, so the parameters are checked.)
func TestLinkDownloadsAndExpires(t *testing.T) {
	client, bucket := newBucket(t)
	want := blobtest.PNG(100 << 10)
	if err := s3blob.New(client, bucket).Put(t.Context(), "videos/job-1.mp4", want, "video/mp4"); err != nil {
		t.Fatal(err)
	}
	signedAt := time.Now().UTC().Truncate(time.Second)
	links := s3blob.NewLinks(s3.NewPresignClient(client), bucket, clock.NewManual(signedAt))
	link, err := links.Link(t.Context(), "videos/job-1.mp4", 90*time.Minute)
	if err != nil {
		t.Fatal(err)
	}

	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if got := q.Get("X-Amz-Expires"); got != "5400" {
		t.Errorf("X-Amz-Expires = %q, want 5400", got)
	}
	if got := q.Get("X-Amz-Date"); got != signedAt.Format("20060102T150405Z") {
		t.Errorf("X-Amz-Date = %q, want the clock's %s", got, signedAt.Format("20060102T150405Z"))
	}
	if q.Get("X-Amz-Signature") == "" {
		t.Error("the link has no X-Amz-Signature")
	}
	// A browser or player sends no x-amz-* headers, so the signature may
	// cover only the host (moto does not check signatures; S3 would answer
	// SignatureDoesNotMatch to a URL that signed a header it never gets).
	if got := q.Get("X-Amz-SignedHeaders"); got != "host" {
		t.Errorf("X-Amz-SignedHeaders = %q, want host alone", got)
	}

	resp, got := awstest.Fetch(t, http.MethodGet, link, nil)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, want) {
		t.Fatalf("GET link = %d, %d bytes; want 200 and the %d bytes put", resp.StatusCode, len(got), len(want))
	}
	if ct := resp.Header.Get("Content-Type"); ct != "video/mp4" {
		t.Errorf("Content-Type = %q, want video/mp4", ct)
	}
}

// Without a clock the SDK signs at the wall-clock time.
func TestLinkWithoutClock(t *testing.T) {
	client, bucket := newBucket(t)
	before := time.Now().UTC().Truncate(time.Second)
	link, err := s3blob.NewLinks(s3.NewPresignClient(client), bucket, nil).Link(t.Context(), "videos/x.mp4", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := time.Parse("20060102T150405Z", u.Query().Get("X-Amz-Date"))
	if err != nil {
		t.Fatal(err)
	}
	if signed.Before(before) || signed.After(time.Now().Add(time.Second)) {
		t.Errorf("X-Amz-Date = %v, want about now (%v)", signed, before)
	}
	if got := u.Query().Get("X-Amz-Expires"); got != "3600" {
		t.Errorf("X-Amz-Expires = %q, want 3600", got)
	}
}

func TestLinkRefusesBadArguments(t *testing.T) {
	client, bucket := newBucket(t)
	links := s3blob.NewLinks(s3.NewPresignClient(client), bucket, nil)
	for _, tt := range []struct {
		key string
		ttl time.Duration
	}{
		{"../x", time.Hour},
		{"k", 0},
		{"k", 500 * time.Millisecond},
		{"k", s3blob.MaxLinkTTL + time.Second},
	} {
		if link, err := links.Link(t.Context(), tt.key, tt.ttl); !errors.Is(err, blob.ErrInvalid) {
			t.Errorf("Link(%q, %v) = %q, %v; want ErrInvalid", tt.key, tt.ttl, link, err)
		}
	}
}
