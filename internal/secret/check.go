package secret

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// DescribeAPI is the Secrets Manager call ValueCheck makes.
type DescribeAPI interface {
	DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
}

// CheckTTL is how long ValueCheck keeps an answer.
const CheckTTL = time.Minute

// ValueCheck tells whether a secret has a value from its metadata alone (a
// current version), so its caller never reads the value. A health route
// anyone may call uses it, so an answer is kept for CheckTTL rather than
// asked of Secrets Manager on every request.
type ValueCheck struct {
	API DescribeAPI
	ID  string // the secret's name or ARN
	// Label and Setting say in errors what the secret is for and which
	// setting names it.
	Label, Setting string
	Now            func() time.Time

	mu      sync.Mutex
	checked time.Time
	err     error
}

// Check returns nil when the secret has a value, else why not.
func (c *ValueCheck) Check(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.Now()
	if !c.checked.IsZero() && now.Sub(c.checked) < CheckTTL {
		return c.err
	}
	out, err := c.API.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(c.ID)})
	switch {
	case err != nil:
		err = fmt.Errorf("describe %s %s (%s): %w", c.Label, c.ID, c.Setting, err)
	case !hasCurrent(out.VersionIdsToStages):
		err = fmt.Errorf("%s %s (%s) has no value: set it", c.Label, c.ID, c.Setting)
	}
	c.checked, c.err = now, err
	return err
}

func hasCurrent(versions map[string][]string) bool {
	for _, stages := range versions {
		if slices.Contains(stages, "AWSCURRENT") {
			return true
		}
	}
	return false
}
