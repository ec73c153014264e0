package s3blob_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/vidgen/vidgen/internal/awstest"
	"github.com/vidgen/vidgen/internal/blob"
	"github.com/vidgen/vidgen/internal/blob/blobtest"
	"github.com/vidgen/vidgen/internal/blob/s3blob"
)

// A blob larger than Put allows streams in byte for byte, with its content
// type and SSE-S3.
func TestPutStreamLargerThanMaxSize(t *testing.T) {
	client, bucket := newBucket(t)
	s := s3blob.New(client, bucket)
	want := blobtest.PNG(blob.MaxSize + 1<<20)
	if err := s.PutStream(t.Context(), "videos/job-1.mp4", bytes.NewReader(want), int64(len(want)), "video/mp4"); err != nil {
		t.Fatal(err)
	}
	got, out := awstest.GetObject(t, client, bucket, "videos/job-1.mp4")
	if !bytes.Equal(got, want) {
		t.Errorf("object = %d bytes differing from the %d put", len(got), len(want))
	}
	if ct := aws.ToString(out.ContentType); ct != "video/mp4" {
		t.Errorf("ContentType = %q, want video/mp4", ct)
	}
	if out.ServerSideEncryption != types.ServerSideEncryptionAes256 {
		t.Errorf("ServerSideEncryption = %q, want AES256", out.ServerSideEncryption)
	}
}

// A section of a larger file, as the archiver passes, is sent as the
// section alone, through the SDK's read for signing and its rewind.
func TestPutStreamFromSection(t *testing.T) {
	client, bucket := newBucket(t)
	s := s3blob.New(client, bucket)
	whole := []byte("headerpayload")
	if err := s.PutStream(t.Context(), "k", io.NewSectionReader(bytes.NewReader(whole), 6, 7), 7, "video/mp4"); err != nil {
		t.Fatal(err)
	}
	if got, _ := awstest.GetObject(t, client, bucket, "k"); string(got) != "payload" {
		t.Errorf("object = %q, want payload", got)
	}
}

func TestPutStreamRefusesBadArguments(t *testing.T) {
	client, bucket := newBucket(t)
	s := s3blob.New(client, bucket)
	for _, tt := range []struct {
		key, ct string
		size    int64
	}{
		{"../x", "video/mp4", 1},
		{"ok", "video/mp4\nX: 1", 1},
		{"ok", "video/mp4", -1},
		{"ok", "video/mp4", s3blob.MaxStreamSize + 1},
	} {
		if err := s.PutStream(t.Context(), tt.key, strings.NewReader("x"), tt.size, tt.ct); !errors.Is(err, blob.ErrInvalid) {
			t.Errorf("PutStream(%q, size %d, %q) = %v, want ErrInvalid", tt.key, tt.size, tt.ct, err)
		}
	}
}
