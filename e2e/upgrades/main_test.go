package upgrades

import (
	"testing"

	"github.com/nrun-dev/nrun/e2e/e2etest"
	"github.com/nrun-dev/nrun/sandbox"
)

func TestMain(m *testing.M) { e2etest.Main(m) }

// env is one test's sandbox (e2etest.Env) with this package's helpers.
type env struct{ *e2etest.Env }

func newEnv(t testing.TB, spec sandbox.Spec) *env { return &env{e2etest.NewEnv(t, spec)} }
