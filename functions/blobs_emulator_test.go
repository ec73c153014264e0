//go:build unix

package functions_test

import (
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/vidgen/vidgen/internal/blob"
	"github.com/vidgen/vidgen/internal/blob/blobtest"
	"github.com/vidgen/vidgen/internal/job"
)

// TestLargeImageThroughS3 sends a 1 MB data-URI image through the real api
// and submit bootstraps: the api function keeps it in the bucket, encrypted,
// and the record small; the submit function sends the upstream exactly the
// data URI the client sent.
func TestLargeImageThroughS3(t *testing.T) {
	apiFn := startFunction(t, "api", functionEnv(t, "api"))
	submitFn := startFunction(t, "submit", functionEnv(t, "submit"))

	var ev map[string]any
	if err := json.Unmarshal(loadEvent(t, "api-submit.json", ""), &ev); err != nil {
		t.Fatal(err)
	}
	image := "data:image/png;base64," + base64.StdEncoding.EncodeToString(blobtest.PNG(1<<20))
	body, err := json.Marshal(map[string]any{"model": job.Model, "prompt": "a large image", "image_url": image})
	if err != nil {
		t.Fatal(err)
	}
	ev["body"] = string(body)
	event, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	sent, err := job.ParseRequest(body, job.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}

	id := submitted(t, apiFn.callAPI(t, event))

	key := "images/" + id + "/image_url"
	if j := getJob(t, id); j.Request.ImageURL != blob.RefPrefix+key {
		t.Fatalf("record image_url = %s, want %s%s", blob.Describe(j.Request.ImageURL), blob.RefPrefix, key)
	}
	head, err := e2e.s3.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: &e2e.bucket, Key: &key})
	if err != nil {
		t.Fatalf("the image is not in the bucket: %v", err)
	}
	if head.ServerSideEncryption != s3types.ServerSideEncryptionAes256 || aws.ToString(head.ContentType) != "image/png" {
		t.Errorf("object: encryption %q, content type %q; want AES256, image/png", head.ServerSideEncryption, aws.ToString(head.ContentType))
	}

	var raw map[string]any
	submitFn.invokeOK(t, loadEvent(t, "submit.json", id), &raw)
	if out := wantStepOutput(t, raw); out.JobID != id || !out.Submitted {
		t.Fatalf("submit output %+v, want %s submitted", out, id)
	}
	if n := e2e.sim.SubmissionsOf(sent); n != 1 {
		t.Errorf("the simulator accepted %d submits of the request as sent, want 1", n)
	}
}
