"""`ivr agents ...`: set an agent's password hash, make a per-agent API token.

Added to the CLI in ivr/cli/__init__.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import click

from ivr.routing.agents import hash_password, new_api_token


@click.group()
def agents() -> None:
    """Agents of the human queue (config/agents.yaml)."""


def _config_file(path: str | None) -> Path:
    if path:
        return Path(path)
    from ivr.settings import Settings

    return Settings.from_env().config_dir / "agents.yaml"


def replace_field(text: str, agent_id: str, field: str, value: str) -> str:
    """Set ``field`` of the agent block ``- id: agent_id`` in YAML text, keeping comments."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines)
                  if re.match(rf"^\s*-\s+id:\s*['\"]?{re.escape(agent_id)}['\"]?\s*$", line)),
                 None)
    if start is None:
        raise click.ClickException(f"agent {agent_id!r} not found")
    indent = len(lines[start]) - len(lines[start].lstrip(" -"))
    end = next((i for i in range(start + 1, len(lines))
                if re.match(r"^\s*-\s+id:", lines[i]) or re.match(r"^\S", lines[i])), len(lines))
    new_line = f'{" " * indent}{field}: "{value}"\n'
    for i in range(start + 1, end):
        if re.match(rf"^\s*{field}:", lines[i]):
            lines[i] = new_line
            break
    else:
        lines.insert(start + 1, new_line)
    return "".join(lines)


@agents.command("set-password")
@click.argument("agent_id")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="The new password (prompted when left out).")
@click.option("--write", is_flag=True, help="Write the hash into agents.yaml (else print it).")
@click.option("--file", "path", default=None, help="agents.yaml to edit (default: config dir).")
def set_password(agent_id: str, password: str, write: bool, path: str | None) -> None:
    """Print (or write) a werkzeug password hash for AGENT_ID."""
    if len(password) < 8:
        raise click.ClickException("use at least 8 characters")
    hashed = hash_password(password)
    if not write:
        click.echo(hashed)
        return
    file = _config_file(path)
    file.write_text(replace_field(file.read_text(encoding="utf-8"), agent_id, "password_hash",
                                  hashed), encoding="utf-8")
    click.echo(f"password of {agent_id} updated in {file}; reload the config to apply")


@agents.command("new-token")
@click.argument("agent_id")
@click.option("--write", is_flag=True, help="Write the digest into agents.yaml.")
@click.option("--file", "path", default=None, help="agents.yaml to edit (default: config dir).")
def new_token(agent_id: str, write: bool, path: str | None) -> None:
    """Make an API token for AGENT_ID: the token is shown once, only its SHA-256 is stored."""
    token, digest = new_api_token()
    if write:
        file = _config_file(path)
        file.write_text(replace_field(file.read_text(encoding="utf-8"), agent_id,
                                      "api_token_sha256", digest), encoding="utf-8")
        click.echo(f"token digest written to {file}")
    else:
        click.echo(f"api_token_sha256: {digest}")
    click.echo(f"token (give it to the agent, shown once): {token}")
