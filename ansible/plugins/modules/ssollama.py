#!/usr/bin/python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT OR Apache-2.0
"""Plan and apply one Mac's server.toml with ssollama (argv only, JSON in and out)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: ssollama
short_description: Converge a Mac's Ollama server to its server.toml with ssollama
version_added: "0.1.0"
description:
  - Runs C(ssollama plan --json) on the managed Mac. In check mode it stops there and reports
    whether the plan has changes.
  - Otherwise it applies exactly that plan (C(ssollama apply PLANFILE --yes --json)); a plan made
    stale by a change of the Mac in between is refused by ssollama and fails the task.
  - With O(state=absent) it runs C(ssollama destroy --yes --json), which boots the job out and
    removes its plist (logs, network and models are left alone).
  - C(changed) is whether the plan had changes. With C(--diff) the plan's diffs are shown; for the
    plist that is the unified diff of the file.
  - It returns the plan and the final C(ssollama status --json) document. When ssollama fails, the
    task fails with ssollama's own message and exit status.
  - The JSON documents must be of format version 1 (C(format_version) is C("1")).
author:
  - ssollama contributors (!UNKNOWN)
options:
  config:
    description:
      - Path of C(server.toml) on the managed Mac.
    type: path
    required: true
  state:
    description:
      - V(present) applies the plan, V(absent) destroys the job and its plist.
    type: str
    choices: [present, absent]
    default: present
  binary:
    description:
      - Path of the C(ssollama) program on the managed Mac.
      - Default is C(ssollama) found on E(PATH).
    type: path
  take_over:
    description:
      - Pass C(--take-over) to C(apply), which quits Ollama.app and boots out Homebrew's
        C(homebrew.mxcl.ollama) job when they hold the server's place (never anything else).
      - Without it, such a conflict fails the task with ssollama's explanation.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Only C(ssollama plan --json) (or C(status --json) for O(state=absent)) runs.
  diff_mode:
    support: full
    description: One diff per planned change; the plist's is the unified diff of the file.
notes:
  - The managed Mac runs the module with its own Python; it only calls ssollama and parses JSON.
  - Daemon mode (C(service.mode = "daemon")) needs root on the Mac; use O(ignore:become=true).
"""

EXAMPLES = r"""
- name: Converge the Ollama server
  ssollama.server.ssollama:
    config: /Users/ai/.config/ssollama/server.toml

- name: What would change (nothing is touched)
  ssollama.server.ssollama:
    config: /Users/ai/.config/ssollama/server.toml
  check_mode: true
  register: drift

- name: Converge, quitting Ollama.app if it runs
  ssollama.server.ssollama:
    config: /Users/ai/.config/ssollama/server.toml
    binary: /opt/homebrew/bin/ssollama
    take_over: true

- name: Remove the job and its plist
  ssollama.server.ssollama:
    config: /Users/ai/.config/ssollama/server.toml
    state: absent
"""

RETURN = r"""
config:
  description: The absolute path of server.toml the module used (O(config), expanded).
  returned: always
  type: str
  sample: /Users/ai/.config/ssollama/server.toml
plan:
  description:
    - The plan as C(ssollama plan --json) printed it (format version 1), for O(state=present).
  returned: when O(state=present)
  type: dict
  contains:
    format_version:
      description: Always C("1").
      type: str
    fingerprint:
      description: SHA-256 of the observation the plan was made from.
      type: str
    changes:
      description: The changes in execution order, each with C(resource), C(action), C(reason),
        C(before), C(after) and C(operation).
      type: list
      elements: dict
    blockers:
      description: Problems that stop C(apply) before it touches anything.
      type: list
      elements: dict
    unknowns:
      description: Facts that could not be observed.
      type: list
      elements: str
    summary:
      description: C(add), C(change) and C(destroy) counts.
      type: dict
  sample:
    format_version: "1"
    fingerprint: 3f1c0e9a
    changes:
      - resource: launchd.job
        action: load
        reason: job is not loaded
    blockers: []
    unknowns: []
    summary: {add: 1, change: 0, destroy: 0}
changes:
  description: C(action resource) of each planned change, in order.
  returned: always
  type: list
  elements: str
  sample: ["create launchd.plist", "load launchd.job", "pull ollama.model[\"llama3.2:latest\"]"]
events:
  description:
    - The NDJSON events of C(apply --json) or C(destroy --json), one dict each, without the
      per-chunk C(pull) progress events and the C(plan) event (see RV(plan)).
  returned: when apply or destroy ran (also when it failed)
  type: list
  elements: dict
summary:
  description: The last C(summary) event of C(apply) or C(destroy) (C(done), C(failed),
    C(skipped), C(rounds), C(success)).
  returned: when apply or destroy ran
  type: dict
status:
  description: The final C(ssollama status --json) document.
  returned: success
  type: dict
rc:
  description: Exit status of the ssollama command that failed.
  returned: failure
  type: int
stdout:
  description: Standard output of the ssollama command that failed, unless it was an event
    stream (then see RV(events)).
  returned: failure
  type: str
stderr:
  description: Standard error of the ssollama command that failed (ssollama's own message).
  returned: failure
  type: str
"""

import json
import os
import shutil
import tempfile

from ansible.module_utils.basic import AnsibleModule

FORMAT_VERSION = "1"
PLIST = "launchd.plist"


class SsollamaError(Exception):
    """One failed ssollama run, or a document this module cannot read."""

    def __init__(self, msg, **result):
        super(SsollamaError, self).__init__(msg)
        self.msg = msg
        self.result = result


class Ssollama(object):
    """The ssollama program on the managed Mac, for one server.toml."""

    def __init__(self, module, binary, config):
        self.module = module
        self.binary = binary
        self.config = config

    def run(self, args):
        """Runs ``ssollama -c CONFIG --color never ARGS`` (a list: no shell)."""
        argv = [self.binary, "-c", self.config, "--color", "never"] + args
        rc, out, err = self.module.run_command(
            argv, check_rc=False, environ_update={"NO_COLOR": "1"}
        )
        return rc, out, err

    def checked(self, args):
        """Runs ssollama; a non-zero exit status raises with ssollama's own message."""
        rc, out, err = self.run(args)
        if rc != 0:
            raise SsollamaError(
                failure_message(args[0], rc, out, err),
                rc=rc,
                stdout=out,
                stderr=err,
                cmd=[self.binary, "-c", self.config] + args,
            )
        return out

    def document(self, args):
        """Runs ssollama and parses its one JSON document of format version 1."""
        out = self.checked(args)
        doc = parse_json(out, " ".join(args[:2]))
        check_version(doc, " ".join(args[:2]))
        return doc

    def events(self, args):
        """Runs ssollama and parses its NDJSON event stream (every line one JSON object).

        When the run fails, its events replace its raw output in the failure."""
        try:
            out = self.checked(args)
        except SsollamaError as e:
            events = parse_events(e.result["stdout"], args[0], strict=False)
            if events is not None:
                e.result.pop("stdout")
                e.result["events"] = events
                e.result["summary"] = last_summary(events)
            raise
        return parse_events(out, args[0])


def failure_message(verb, rc, out, err):
    """ssollama's own message: its stderr, else its stdout, with the exit status."""
    text = (err or "").strip() or (out or "").strip() or "no output"
    return "ssollama %s failed (exit %d): %s" % (verb, rc, text)


def parse_json(text, what):
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise SsollamaError("`ssollama %s` did not print JSON (%s)" % (what, e), stdout=text)
    if not isinstance(doc, dict):
        raise SsollamaError("`ssollama %s` printed JSON that is not an object" % what, stdout=text)
    return doc


def check_version(doc, what):
    """Requires ``format_version == "1"``; a status document of the older shape says ``format: 1``."""
    version = doc.get("format_version")
    if version is None and doc.get("format") == 1:
        return
    if version != FORMAT_VERSION:
        raise SsollamaError(
            "`ssollama %s` printed format_version %r; this module reads %r only: "
            "use the collection that comes with this ssollama" % (what, version, FORMAT_VERSION)
        )


def parse_events(text, verb, strict=True):
    """The events of an NDJSON stream, without the per-chunk ``pull`` progress lines and the
    ``plan`` event (the plan is returned on its own).

    ``strict=False``: ``None`` instead of an error when the text is not such a stream."""
    events = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        try:
            event = parse_json(line, verb + " --json")
            if "format_version" in event:
                check_version(event, verb + " --json")
        except SsollamaError:
            if strict:
                raise
            return None
        if event.get("event") not in ("pull", "plan"):
            events.append(event)
    return events


def change_lines(plan):
    return ["%s %s" % (c.get("action"), c.get("resource")) for c in plan.get("changes", [])]


def shown(value):
    """A change's ``before``/``after`` as diff text: the plist's file text, else JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value if value.endswith("\n") else value + "\n"
    return json.dumps(value, indent=2, sort_keys=True) + "\n"


def plan_diff(plan):
    """One Ansible diff per change; Ansible renders the plist's texts as a unified diff."""
    diffs = []
    for change in plan.get("changes", []):
        resource = change.get("resource", "")
        before, after = change.get("before"), change.get("after")
        if resource == PLIST:
            path = (change.get("operation") or {}).get("path", resource)
            before_header, after_header = path + " (now)", path + " (planned)"
        else:
            before_header = "%s (now)" % resource
            after_header = "%s (%s: %s)" % (resource, change.get("action"), change.get("reason"))
        diffs.append(
            {
                "before_header": before_header,
                "after_header": after_header,
                "before": shown(before),
                "after": shown(after),
            }
        )
    return diffs


def last_summary(events):
    summaries = [e for e in events if e.get("event") == "summary"]
    return summaries[-1] if summaries else {}


def present(module, ssollama, result):
    check = module.check_mode
    workdir = None
    try:
        args = ["plan", "--json"]
        if not check:
            workdir = tempfile.mkdtemp(prefix="ssollama-plan-", dir=module.tmpdir)
            planfile = os.path.join(workdir, "plan.json")
            args += ["--out", planfile]
        plan = ssollama.document(args)
        result["plan"] = plan
        result["changes"] = change_lines(plan)
        result["changed"] = bool(plan.get("changes"))
        for unknown in plan.get("unknowns", []):
            module.warn("ssollama could not observe: %s" % unknown)
        if check:
            for blocker in plan.get("blockers", []):
                module.warn("apply would stop at %s: %s (%s)" % (
                    blocker.get("resource"), blocker.get("problem"), blocker.get("fix")))
        if module._diff and plan.get("changes"):
            result["diff"] = plan_diff(plan)
        if check or not (plan.get("changes") or plan.get("blockers")):
            return
        # A blocker with no change still runs apply: ssollama explains it, or takes over.
        apply_args = ["apply", planfile, "--yes", "--json"]
        if module.params["take_over"]:
            apply_args.append("--take-over")
        events = ssollama.events(apply_args)
        result["events"] = events
        result["summary"] = last_summary(events)
    finally:
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)


def absent(module, ssollama, result):
    before = ssollama.document(["status", "--json"])
    service = before.get("service") or {}
    plist = (service.get("plist") or {}).get("status")
    job = (service.get("job") or {}).get("status")
    result["changed"] = plist != "absent" or job not in ("not_loaded",)
    if result["changed"]:
        result["changes"] = ["destroy launchd.job", "destroy launchd.plist"]
    if module._diff and result["changed"]:
        result["diff"] = [{"before_header": "service", "after_header": "service (destroyed)",
                           "before": shown(service), "after": ""}]
    if module.check_mode or not result["changed"]:
        return
    events = ssollama.events(["destroy", "--yes", "--json"])
    result["events"] = events
    result["summary"] = last_summary(events)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            config=dict(type="path", required=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            binary=dict(type="path"),
            take_over=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    binary = module.params["binary"] or module.get_bin_path("ssollama", required=True)
    ssollama = Ssollama(module, binary, module.params["config"])
    result = dict(changed=False, changes=[], config=module.params["config"])
    try:
        if module.params["state"] == "present":
            present(module, ssollama, result)
        else:
            absent(module, ssollama, result)
        result["status"] = ssollama.document(["status", "--json"])
    except SsollamaError as e:
        result.update(e.result)
        module.fail_json(msg=e.msg, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
