package lang

import "github.com/zclconf/go-cty/cty"

// ActionExec is the catalog name of action "exec".
const ActionExec = "exec"

func init() {
	addAction(ActionExec, &ActionSpec{
		Doc:    "Runs a local command (argv, no shell). The block declares its effect on the step's target. Its output is streamed line by line to the console, -json events and run.log (whole lines, however long; the console and events get lines over 4 KiB in pieces). A failure record keeps the last 5 lines. step.NAME.output is its standard output up to 1 MiB; a longer output is not kept (run.log has it) and a step that uses step.NAME.output then fails, naming it. When `command`, `check` or `env` uses a sensitive value, the command's output is suppressed everywhere, replaced by one line saying so: wrap the value in nonsensitive() to show it. In all other output, secrets are masked, also upper- or lower-cased, base64- or URL-encoded and reversed.",
		Effect: EffectNone,
		Attrs: []AttrSpec{
			{Name: "command", Type: cty.List(cty.String), Required: true, Doc: "argv of the command; the first element is looked up on PATH.", check: checkNonEmpty},
			{Name: "effect", Type: cty.String, Required: true, Doc: "What the command does to the target: none, restart, stop, start or destroy. Must be a literal."},
			{Name: "env", Type: cty.Map(cty.String), Doc: "Extra environment variables for the command."},
			{Name: "timeout", Type: cty.String, Duration: true, Doc: "Stop the command after this long: SIGTERM to its process group, then SIGKILL 10s later if it has not exited. The same happens when the step's timeout runs out or at a second Ctrl-C. Default: 30m."},
			{Name: "check", Type: cty.List(cty.String), Doc: "argv of a command that must exit 0 after the main command for the step to succeed.", check: checkNonEmpty},
		},
		Cluster:        ClusterNone,
		DeclaresEffect: true,
		Reads:          nil,
		Writes:         nil,
		Probe:          ProbeCheckCommand,
		Local:          true,
		Output:         true,
	})
}
