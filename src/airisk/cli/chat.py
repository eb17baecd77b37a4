"""``airisk chat``: an interactive guarded chat in the terminal."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("chat", help="chat with a guarded agent in the terminal")
    parser.add_argument("--policy", "-p", default="default", help="policy file or built-in name (default: default)")
    parser.add_argument("--engine", default="echo", help="engine name: echo (offline), openai, anthropic, …")
    parser.add_argument("--model", help="model name for the engine")
    parser.add_argument("--system", help="system prompt")
    parser.add_argument("--client-ip", help="client IP for geographic gating")
    parser.add_argument("--show-reports", action="store_true", help="print each turn's scan reports")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from airisk.agent import Agent
    from airisk.cli._format import report_table
    from airisk.pipeline import ScannerPipeline
    from airisk.policies import resolve
    from airisk.providers import engine_class

    engine_cls: Any = engine_class(args.engine)
    engine = engine_cls(model=args.model) if args.model else engine_cls()
    pipeline = ScannerPipeline.from_policy(resolve(args.policy))
    agent = Agent("terminal", engine, system_prompt=args.system, pipeline=pipeline)
    conversation = agent.conversation(user="terminal", client_ip=args.client_ip)
    interactive = sys.stdin.isatty()
    while True:
        if interactive:
            print("you> ", end="", flush=True)
        line = sys.stdin.readline()
        if not line:
            break
        text = line.rstrip("\n")
        if not text.strip():
            continue
        print("agent> ", end="", flush=True)
        for event in conversation.stream(text):
            if event.type in ("text", "blocked"):
                print(event.text, end="", flush=True)
            elif event.type == "done" and event.reply is not None:
                print()
                if args.show_reports:
                    for report in (event.reply.input_report, event.reply.output_report):
                        if report is not None:
                            print(report_table(report, show_text=False))
    return 0
