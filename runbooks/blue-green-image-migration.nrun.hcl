# Replace the blue Nomad fleet (servers and clients built from the old
# image) and its Consul servers with a green one built from the new image,
# without losing quorum (Nomad's or Consul's) or allocations:
#
#   1. terraform adds the green servers, clients and Consul servers next to
#      the blue ones;
#   2. nrun waits until every server, blue and green, is a healthy Raft
#      voter (Nomad's and Consul's) and the green clients are ready;
#   3. the blue clients are made ineligible and drained, one at a time,
#      until their allocations run on green clients;
#   4. each blue server's host is put in Consul maintenance, so its
#      services stop receiving traffic (this does not touch Raft);
#   5. each blue server is stopped, forced out of the gossip pool and
#      removed from Raft, one at a time, leader last, with quorum checked
#      before each; a server must be stopped before the force-leave, or it
#      simply rejoins;
#   6. each blue Consul server is stopped, forced out of the gossip pool
#      and removed from Consul's Raft, one at a time, leader last after a
#      Consul leadership transfer, with Consul's quorum checked before each
#      and the remaining Consul servers healthy after each;
#   7. terraform destroys the blue members;
#   8. only the green servers are left, healthy, on the green version.
#
# Blue and green are told apart by name: the blue members are named
# blue-server-N, blue-client-N and blue-consul-N (`nrun sandbox up -prefix
# blue-` starts such a sandbox), the green ones green-server-N,
# green-client-N and green-consul-N (blue-green/infra). Data sources are read when the plan is made, before
# anything green exists, so data.nomad_servers.blue holds exactly the blue
# servers; a precondition refuses to put in maintenance or retire any
# server whose name does not match var.blue_name_regex, in case the plan is
# made too late.
#
# No server outlives the run: NOMAD_ADDR must be a load balancer over the
# servers, and CONSUL_HTTP_ADDR a Consul client agent that stays (on a real
# fleet, the one on the operator's machine). Against the sandbox (see
# README, "Blue/green migration"):
#
#   nrun sandbox up -prefix blue- -version 1.9.4 -consul-agents
#   nrun sandbox balance -listen 127.0.0.1:4646 &
#   export NOMAD_ADDR=http://127.0.0.1:4646
#   nrun sandbox consul agent ops
#   export CONSUL_HTTP_ADDR=http://<ops's address from nrun sandbox consul-agents>
#   nrun sandbox consul-agents > consul-agents.nrunvars.hcl
#   nrun apply -var-file consul-agents.nrunvars.hcl blue-green-image-migration.nrun.hcl

runbook "blue-green-image-migration" {
  description = "Replace the blue Nomad servers and clients with green ones."
}

variable "blue_server_count" {
  type    = number
  default = 3
}

variable "blue_client_count" {
  type    = number
  default = 2
}

variable "green_server_count" {
  type    = number
  default = 3
}

variable "green_client_count" {
  type    = number
  default = 2
}

variable "blue_consul_count" {
  type    = number
  default = 3
}

variable "green_consul_count" {
  type    = number
  default = 3
}

variable "consul_version" {
  type        = string
  default     = "1.21.0"
  description = "The Consul version of the green Consul servers."
}

variable "green_version" {
  type        = string
  default     = "1.10.0"
  description = "The Nomad version of the green image."
}

variable "blue_name_regex" {
  type        = string
  default     = "^blue-"
  description = "Matches the names of blue servers and clients, and nothing green."
}

variable "mode" {
  type        = string
  default     = "sandbox"
  description = "How a blue server is stopped, and a blue Consul server leaves: \"sandbox\" (nrun sandbox) or \"ssh\" (systemd or consul leave on the host)."
  validation {
    condition     = contains(["sandbox", "ssh"], var.mode)
    error_message = "mode must be \"sandbox\" or \"ssh\"."
  }
}

variable "ssh_user" {
  type    = string
  default = "ops"
}

variable "consul_agents" {
  type        = map(string)
  default     = {}
  description = "The HTTP address of each blue server's own Consul agent, by Consul node name (the server's name without the region). A server not listed uses its gossip address with the port of the configured Consul address, which is right when every host runs its agent on the same port. The sandbox's agents share 127.0.0.1, so there every one must be listed."
}

variable "drain_deadline" {
  type        = string
  default     = "30m"
  description = "How long a blue client's allocations may take to migrate before the drain stops them."
}

variable "settle_time" {
  type        = string
  default     = "10s"
  description = "How long to let the cluster settle after the blue members are destroyed, before the final checks."
}

locals {
  green_client_names = toset([for i in range(var.green_client_count) : "green-client-${i + 1}"])
}

terraform "fleet" {
  dir = "./blue-green/infra"
}

data "nomad_servers" "blue" {}

data "consul_servers" "blue" {}

data "nomad_nodes" "blue" {
  name = var.blue_name_regex
}

step "snapshot" {
  action "nomad_snapshot_save" {
    path = "nomad-before-blue-green.snap"
  }
}

step "consul_snapshot" {
  action "consul_snapshot_save" {
    path = "consul-before-blue-green.snap"
  }
}

step "green" {
  depends_on = [step.snapshot, step.consul_snapshot]
  timeout    = "20m"
  action "terraform_apply" {
    terraform = terraform.fleet
    vars = {
      blue_server_count  = var.blue_server_count
      blue_client_count  = var.blue_client_count
      green_server_count = var.green_server_count
      green_client_count = var.green_client_count
      green_version      = var.green_version
      blue_consul_count  = var.blue_consul_count
      green_consul_count = var.green_consul_count
      consul_version     = var.consul_version
      # The sandbox gives each member its own Consul agent, as on a real
      # host. Both applies pass the same value.
      sandbox_consul_agents = var.mode == "sandbox"
    }
    creates = {
      nomad_servers  = var.green_server_count
      nomad_clients  = var.green_client_count
      consul_servers = var.green_consul_count
    }
  }
  # Every blue and green server is an alive, caught-up voter, in Nomad
  # and in Consul.
  wait "servers_healthy" {
    count   = var.blue_server_count + var.green_server_count
    timeout = "10m"
  }
  wait "servers_healthy" {
    cluster = "consul"
    count   = var.blue_consul_count + var.green_consul_count
    timeout = "10m"
  }
}

# Registration can lag behind terraform, hence the retries.
step "green_clients" {
  for_each     = local.green_client_names
  max_parallel = 5
  depends_on   = [step.green]
  target       = each.key
  retry {
    attempts = 10
    delay    = "10s"
  }
  action "nomad_node_eligibility" {
    eligible = true
  }
  wait "node_ready" {
    timeout = "5m"
  }
}

step "blue_ineligible" {
  for_each     = data.nomad_nodes.blue.by_name
  max_parallel = 5
  depends_on   = [step.green_clients]
  target       = each.value
  action "nomad_node_eligibility" {
    eligible = false
  }
  wait "node_ineligible" {
    timeout = "1m"
  }
}

step "blue_drain" {
  for_each     = data.nomad_nodes.blue.by_name
  max_parallel = 1
  depends_on   = [step.blue_ineligible]
  target       = each.value
  timeout      = "45m"
  on_failure   = "pause"
  action "nomad_node_drain" {
    deadline = var.drain_deadline
  }
  wait "node_drained" {
    timeout = "40m"
  }
}

# The services registered through the blue servers' own Consul agents
# stop receiving traffic before the servers go away. Maintenance is a
# property of the node's own agent: the Consul node of the target (a Nomad
# server) is its name without the region, and its agent is the one on that
# host.
step "blue_maintenance" {
  for_each     = data.nomad_servers.blue.by_name
  max_parallel = 5
  depends_on   = [step.blue_drain]
  target       = each.value
  # As in blue_retire: a green server must never be taken out of service.
  precondition {
    condition     = can(regex(var.blue_name_regex, each.value.name))
    error_message = "This server's name does not match blue_name_regex; it may be green. Make the plan again before the green servers join, or fix blue_name_regex."
  }
  action "consul_maintenance" {
    agent  = try(var.consul_agents[split(".", each.value.name)[0]], null)
    enable = true
    reason = "blue-green migration: retiring ${each.key}"
  }
  wait "consul_maintenance" {
    timeout = "1m"
  }
}

step "blue_retire" {
  for_each     = data.nomad_servers.blue.by_name
  order        = "leader_last"
  max_parallel = 1
  depends_on   = [step.blue_maintenance]
  target       = each.value
  timeout      = "15m"
  on_failure   = "pause"

  precondition {
    condition     = can(regex(var.blue_name_regex, each.value.name))
    error_message = "This server's name does not match blue_name_regex; it may be green. Make the plan again before the green servers join, or fix blue_name_regex."
  }
  precondition "quorum_ok" {}
  precondition "leader_not_target" {
    transfer = true
  }

  step "stop" {
    action "exec" {
      command = (var.mode == "sandbox"
        ? ["nrun", "sandbox", "server", "stop", split(".", each.value.name)[0]]
      : ["ssh", "${var.ssh_user}@${each.value.host}", "sudo", "systemctl", "stop", "nomad"])
      effect = "stop"
    }
  }

  step "force_leave" {
    depends_on = [step.stop]
    action "nomad_server_force_leave" {
      prune = true
    }
  }

  step "remove_peer" {
    depends_on = [step.force_leave]
    action "nomad_raft_remove_peer" {}
    wait "raft_peer_absent" {
      timeout  = "2m"
      interval = "1s"
    }
    # The servers that remain are healthy before the next one goes.
    wait "servers_healthy" {
      timeout  = "5m"
      interval = "1s"
    }
  }
}

# The blue Consul servers go as the blue Nomad servers did: stopped (a
# stopped Consul server stays a Raft peer), forced out of gossip and
# removed from Raft, one at a time, leader last. The Nomad agents talk to
# their own Consul agents, which follow the Consul servers through gossip.
step "blue_consul_retire" {
  for_each     = data.consul_servers.blue.by_name
  order        = "leader_last"
  max_parallel = 1
  depends_on   = [step.blue_retire]
  target       = each.value
  timeout      = "15m"
  on_failure   = "pause"

  precondition {
    condition     = can(regex(var.blue_name_regex, each.value.name))
    error_message = "This Consul server's name does not match blue_name_regex; it may be green. Make the plan again before the green servers join, or fix blue_name_regex."
  }
  precondition "quorum_ok" {
    cluster = "consul"
  }
  precondition "leader_not_target" {
    transfer = true
  }

  step "stop" {
    action "exec" {
      command = (var.mode == "sandbox"
        ? ["nrun", "sandbox", "consul", "stop", each.value.name]
      : ["ssh", "${var.ssh_user}@${each.value.host}", "sudo", "systemctl", "stop", "consul"])
      effect = "stop"
    }
  }

  # Consul refuses to force out a member gossip still calls alive; it
  # calls a stopped server failed after a few seconds.
  step "force_leave" {
    depends_on = [step.stop]
    retry {
      attempts = 30
      delay    = "1s"
    }
    action "consul_force_leave" {
      prune = true
    }
  }

  step "remove_peer" {
    depends_on = [step.force_leave]
    action "consul_raft_remove_peer" {}
    wait "raft_peer_absent" {
      timeout  = "2m"
      interval = "1s"
    }
    # The Consul servers that remain are healthy before the next one goes.
    wait "servers_healthy" {
      cluster  = "consul"
      timeout  = "5m"
      interval = "1s"
    }
  }
}

step "blue_destroy" {
  depends_on = [step.blue_retire, step.blue_consul_retire]
  timeout    = "20m"
  action "terraform_apply" {
    terraform = terraform.fleet
    vars = {
      blue_server_count     = 0
      blue_client_count     = 0
      green_server_count    = var.green_server_count
      green_client_count    = var.green_client_count
      green_version         = var.green_version
      blue_consul_count     = 0
      green_consul_count    = var.green_consul_count
      consul_version        = var.consul_version
      sandbox_consul_agents = var.mode == "sandbox"
    }
    destroys = merge(data.nomad_servers.blue.by_name, data.nomad_nodes.blue.by_name, data.consul_servers.blue.by_name)
  }
}

step "verify" {
  depends_on = [step.blue_destroy]
  action "sleep" {
    duration = var.settle_time
  }
  wait "servers_healthy" {
    count   = var.green_server_count
    timeout = "5m"
  }
  wait "servers_version" {
    version = var.green_version
    timeout = "2m"
  }
  wait "servers_healthy" {
    cluster = "consul"
    count   = var.green_consul_count
    timeout = "5m"
  }
}
