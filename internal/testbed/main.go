package testbed

import (
	"context"
	"fmt"
	"os"
	"testing"
)

// RunTests is a test package's TestMain body: it starts a test bed, hands
// it to use, runs the tests and stops the bed. When the bed cannot start
// the package fails with the reason; it never skips, because the engine is
// only proven against the real parts.
func RunTests(m *testing.M, use func(*Bed)) int {
	bed, err := Start(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: the test bed (notary server and registry) is required:", err)
		return 1
	}
	defer bed.Close()
	use(bed)
	return m.Run()
}
