package archive_test

import (
	"os"
	"testing"

	"github.com/vidgen/vidgen/internal/awstest"
)

func TestMain(m *testing.M) {
	os.Exit(awstest.Main(m))
}
