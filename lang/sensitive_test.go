package lang

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// The output of an exec step whose command uses a sensitive value is
// sensitive: the executor suppresses it, and a later step must not show
// it through step.NAME.output.
func TestSensitivityStepOutputs(t *testing.T) {
	const src = `
variable "pw" {
  type      = string
  sensitive = true
  default   = "hunter2-secret"
}
step "login" {
  action "exec" {
    command = ["login", upper(var.pw)]
    effect  = "none"
  }
}
step "chained" {
  action "exec" {
    command = ["use", step.login.output]
    effect  = "none"
  }
}
step "viaenv" {
  action "exec" {
    command = ["env"]
    env     = { PW = var.pw }
    effect  = "none"
  }
}
step "public" {
  action "exec" {
    command = ["echo", nonsensitive(length(var.pw))]
    effect  = "none"
  }
}
step "outer" {
  step "inner" {
    action "exec" {
      command = ["x", var.pw]
      effect  = "none"
    }
  }
}
`
	dir := t.TempDir()
	path := filepath.Join(dir, "main.nrun.hcl")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	rb, diags := Load(path)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	s := NewSensitivity(rb)
	tests := map[string]struct {
		expr string
		want bool
	}{
		"sensitive command's output":    {"step.login.output", true},
		"output of a step using it":     {"step.chained.output", true},
		"sensitive env":                 {"step.viaenv.output", true},
		"nonsensitive command's output": {"step.public.output", false},
		"inner step, through the outer": {"step.outer.step.inner.output", true},
		"declared public":               {"nonsensitive(step.login.output)", false},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			e, diags := hclsyntax.ParseExpression([]byte(tt.expr), "x", hcl.InitialPos)
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			if got := s.Uses(e); got != tt.want {
				t.Errorf("Uses(%s) = %v, want %v", tt.expr, got, tt.want)
			}
		})
	}
}
