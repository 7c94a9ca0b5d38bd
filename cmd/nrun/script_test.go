package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/nrun-dev/nrun/planfile"
)

var update = flag.Bool("update", false, "rewrite testscript archives (cmp against an archive file) and goldens from the current output")

// TestMain lets testscript run the test binary itself as the `nrun`
// command of the scripts, in a subprocess, so each script exercises the
// real flag parsing, exit codes and streams.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		// The streams are built here, inside the subprocess, so they are
		// the script command's own stdin, stdout and stderr.
		"nrun": func() { os.Exit(run(os.Args[1:], newStreams())) },
	})
}

// TestScript runs every testdata/script/*.txtar. Each script starts in a
// fresh $WORK directory; $RUNBOOKS is the repository's runbooks/ directory
// (read only: copy it into $WORK before changing anything) and $REPO the
// repository root.
func TestScript(t *testing.T) {
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:           filepath.Join("testdata", "script"),
		UpdateScripts: *update,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"planfile": cmdPlanfile,
		},
		Setup: func(env *testscript.Env) error {
			env.Setenv("REPO", repo)
			env.Setenv("RUNBOOKS", filepath.Join(repo, "runbooks"))
			// Colour is decided from the terminal and NO_COLOR; scripts
			// never run on a terminal, but an inherited NO_COLOR must not
			// change what they see either.
			env.Setenv("NO_COLOR", "")
			return nil
		},
	})
}

// cmdPlanfile is the script command
//
//	planfile unseal FILE OUT   write the payload (plan JSON) of plan file FILE to OUT
//	planfile seal JSON OUT     write JSON as a plan file with a valid header to OUT
//
// Scripts use it to edit a saved plan the way someone who also fixes the
// checksum would, to test what apply checks beyond the checksum.
func cmdPlanfile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: planfile seal|unseal IN OUT")
	}
	in := []byte(ts.ReadFile(args[1]))
	var out []byte
	switch args[0] {
	case "unseal":
		var err error
		out, err = planfile.Open(in)
		ts.Check(err)
	case "seal":
		out = planfile.Seal(in)
	default:
		ts.Fatalf("planfile: unknown %q", args[0])
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[2]), out, 0o600))
}
