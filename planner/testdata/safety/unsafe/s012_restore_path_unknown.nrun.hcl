# The file to restore is the output of a command: known only while the run
# applies, and no snapshot step of the run saves it, so the plan cannot
# check it.
# inventory: healthy

step "find" {
  action "exec" {
    command = ["sh", "-c", "ls -t backups/*.snap | head -1"]
    effect  = "none"
  }
}

step "approve" {
  depends_on = [step.find]
  action "approval" {
    message = "Roll the Nomad state back?"
  }
}

step "restore" {
  depends_on = [step.approve]
  action "nomad_snapshot_restore" {
    path = trimspace(step.find.output) # NR-S012
  }
}
