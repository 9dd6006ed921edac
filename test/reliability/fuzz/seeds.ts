/**
 * Valid files the fuzzer starts from: each loads without a problem, so every problem a case
 * reports comes from its mutations. They cover what the loaders read: every graph key, the
 * three kinds of hosts, LLM and shell agents, YAML merge keys; inventories in YAML and INI with
 * ranges, children, vars, pinned keys, known_hosts files and tofu.
 */
const hostKey = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFh/GyLd5F/kh6IkF1VhpYP04SQyDITYFQXlZQegcRJZ';

/** Files a seed needs beside it (instructions, known_hosts), by name relative to it. */
export const supportFiles: Record<string, string> = {
  'prompts/coder.md': 'Write small commits. Run the tests before you report done.\n',
  known_hosts: `build01 ${hostKey}\nbuild02,build03 ${hostKey}\n`,
};

export const graphSeeds: readonly string[] = [
  `base: main
hosts: { provisioner: local, count: 2, slots: 3, labels: [gpu, linux] }
agents:
  coder: { harness: claude, model: claude-sonnet-4-5, instructions: prompts/coder.md, secrets: [GITHUB_TOKEN], args: ["--max-turns", "40"] }
  reviewer: { harness: gemini, model: gemini-2.5-flash }
  fixer: { harness: codex }
  checker: { harness: shell, command: "npm test" }
tasks:
  plan: { agent: coder, prompt: "Write PLAN.md" }
  implement-api: { agent: coder, needs: [plan], prompt: "Build the API", on: gpu, retries: 2, timeout: 30m, secrets: [API_KEY] }
  implement-ui: { agent: fixer, needs: plan, prompt: "Build the UI" }
  test: { agent: checker, needs: [implement-api, implement-ui], command: "npm test -- --grep api" }
  review: { agent: reviewer, needs: [test], approval: before, prompt: "Review it", timeout: 90 }
`,
  `# Shell tasks in block style, with a merge key to share settings.
base: HEAD
hosts:
  provisioner: local
  count: 1
agents:
  sh:
    harness: shell
    command: |
      echo "$GRAFT_TASK"
      git commit --allow-empty -qm "$GRAFT_TASK"
tasks:
  a: &defaults
    agent: sh
    retries: 1
  b:
    <<: *defaults
    needs: [a]
    approval: after
  c:
    agent: sh
    needs:
      - a
      - b
    command: echo done
`,
  `hosts: { inventory: hosts.ini, limit: "lab:!macs", slots: 2 }
agents:
  sh: { harness: shell, command: "make" }
tasks:
  build: { agent: sh, on: builders }
  train: { agent: sh, on: "gpu:&lab", needs: [build] }
  ship: { agent: sh, on: "~build0[12]", needs: [train] }
`,
  `hosts: { provisioner: ec2, count: 3, region: eu-west-1, instance-type: t3.large }
agents:
  sh: { harness: shell }
tasks:
  one: { agent: sh, command: "true", timeout: "2h" }
`,
];

export const yamlInventorySeeds: readonly string[] = [
  `all:
  vars:
    ansible_ssh_private_key_file: ~/.ssh/graft_admin
  children:
    lab:
      vars:
        ansible_user: root
      children:
        builders:
          vars:
            graft_slots: 4
            graft_labels: [linux, x86_64]
            graft_known_hosts: known_hosts
          hosts:
            build[01:03]:
        gpu:
          vars: { graft_slots: 2, graft_labels: "linux,gpu", ansible_port: 2222 }
          hosts:
            gpu01: { ansible_host: 10.20.0.31, graft_host_key: "${hostKey}" }
            gpu02:
              ansible_host: 10.20.0.32
              graft_host_key:
                - "${hostKey}"
              graft_slots: 8
    macs:
      hosts:
        mac-mini-1: { ansible_host: 10.30.0.5, ansible_user: ci, graft_host_key_policy: tofu, graft_isolation: shared-account }
`,
  `# Top-level groups, as Ansible allows; an anchor shared by two hosts.
web:
  hosts:
    web1.example.com:2222: &pinned
      graft_host_key: "${hostKey}"
      ansible_become: yes
    web2.example.com: *pinned
db:
  hosts:
    db-[a:c]: { graft_host_key_policy: tofu }
  vars:
    ansible_user: postgres
`,
];

export const iniInventorySeeds: readonly string[] = [
  `# comment
[builders]
build[01:03] graft_known_hosts=known_hosts

[gpu]
gpu01 ansible_host=10.20.0.31 graft_host_key="${hostKey}"
gpu02 ansible_host=10.20.0.32 graft_host_key="${hostKey}" graft_slots=4

[macs]
mac-mini-1 ansible_host=10.30.0.5 ansible_user=ci graft_labels=macos,arm64 graft_host_key_policy=tofu

[lab:children]
builders
gpu

[builders:vars]
graft_slots=4
graft_labels=linux,x86_64

[gpu:vars]
graft_slots=2
ansible_port=2222

[lab:vars]
ansible_user=root

[all:vars]
ansible_ssh_private_key_file=~/.ssh/graft_admin
`,
  `ungrouped1 graft_host_key_policy=tofu motd="hello world" # trailing comment
[production:children]
frontend
backend

[frontend:children]
web

[backend]
db01 role=primary graft_host_key_policy=tofu
db02:2200 graft_host_key_policy=tofu

[web]
web[1:9:2] graft_host_key_policy=tofu list="[1, 2, {'a': (3, 4)}]"

[production:vars]
env=prod
graft_slots=2
`,
];
