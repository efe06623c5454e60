"""`mso publish`: commit results/ (and dataset entries) as the bot and push them, race-safe."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add(sub) -> None:
    p = sub.add_parser("publish", help="commit results/ and push them to the branch")
    p.add_argument("--remote", help="the git remote or URL (default: $MSO_PUSH_URL, else in GitLab "
                                     "CI with MSO_GITLAB_TOKEN the project's URL, else origin)")
    p.add_argument("--branch", help="default: CI_COMMIT_REF_NAME, else the current branch")
    p.add_argument("--message", help="commit message (default: which runs changed)")
    p.add_argument("--retries", type=int, default=10, help="pushes tried when others race (10)")
    p.add_argument("--token-env", metavar="VAR",
                   help="environment variable holding the push token (default: MSO_GITLAB_TOKEN "
                        "when set); it reaches git through GIT_ASKPASS, never a URL")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from runner.publish.gitpush import publish, target
    root = Path(args.repo).resolve()
    where = target(args.remote, args.token_env)
    if where is None:
        print("mso publish: no push token in this pipeline (MSO_GITLAB_TOKEN is not set; a "
              "fork's merge request gets no protected variables): results are not pushed")
        return 0
    done = publish(root, where.remote, args.branch, args.message,
                   retries=args.retries, token_env=where.token_env)
    if args.json:
        print(json.dumps({"ok": True, "commit": done.commit, "pushed": done.pushed,
                          "attempts": done.attempts}, indent=2))
    elif done.pushed:
        print(f"published {done.commit[:12]} ({done.attempts} push{'es' * (done.attempts > 1)})")
    else:
        print("nothing to publish")
    return 0
