package s3blob

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/vidgen/vidgen/internal/blob"
	"github.com/vidgen/vidgen/internal/clock"
)

// MaxLinkTTL is the longest a SigV4 presigned URL may live.
const MaxLinkTTL = 7 * 24 * time.Hour

// PresignAPI is the part of *s3.PresignClient the links use.
type PresignAPI interface {
	PresignGetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.PresignOptions)) (*v4.PresignedHTTPRequest, error)
}

// Links makes presigned GET URLs for the objects of one bucket, so a client
// downloads a private object straight from S3 without credentials of its
// own. It is separate from Store because presigning needs an
// *s3.PresignClient, which Store's API does not provide.
//
// A URL works until its TTL runs out or the credentials that signed it
// expire, whichever comes first: signed with a Lambda role's temporary
// credentials, it may stop working after a few hours whatever the TTL.
type Links struct {
	client PresignAPI
	bucket string
	clock  clock.Clock
}

// NewLinks returns links to the objects of bucket, signed at the times clock
// tells; a nil clock uses the SDK's own, the wall clock.
func NewLinks(client PresignAPI, bucket string, clock clock.Clock) *Links {
	return &Links{client: client, bucket: bucket, clock: clock}
}

// Link returns a URL that downloads key for ttl, at most MaxLinkTTL. It
// does not check that the object exists: S3 answers 404 (or 403 without
// s3:ListBucket) to a URL of a missing object.
func (l *Links) Link(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if err := blob.CheckKey(key); err != nil {
		return "", fmt.Errorf("s3blob: link %s: %w", key, err)
	}
	// SigV4 counts expiry in whole seconds.
	if ttl < time.Second || ttl > MaxLinkTTL {
		return "", fmt.Errorf("s3blob: link %s: %w: TTL %v is outside 1s to %v", key, blob.ErrInvalid, ttl, MaxLinkTTL)
	}
	opts := []func(*s3.PresignOptions){s3.WithPresignExpires(ttl)}
	if l.clock != nil {
		opts = append(opts, func(o *s3.PresignOptions) {
			o.Presigner = clockedPresigner{next: o.Presigner, clock: l.clock}
		})
	}
	req, err := l.client.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(l.bucket), Key: aws.String(key)}, opts...)
	if err != nil {
		return "", fmt.Errorf("s3blob: link s3://%s/%s: %w", l.bucket, key, err)
	}
	return req.URL, nil
}

// clockedPresigner signs at the time its clock tells rather than the SDK's,
// which reads the wall clock; the expiry counts from the signing time.
type clockedPresigner struct {
	next  s3.HTTPPresignerV4
	clock clock.Clock
}

func (p clockedPresigner) PresignHTTP(ctx context.Context, credentials aws.Credentials, r *http.Request,
	payloadHash, service, region string, _ time.Time, optFns ...func(*v4.SignerOptions),
) (string, http.Header, error) {
	return p.next.PresignHTTP(ctx, credentials, r, payloadHash, service, region, p.clock.Now().UTC(), optFns...)
}
