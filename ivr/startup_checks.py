"""What `ivr serve` refuses to start with (and what it only warns about), outside the config schema.

Dev mode means no real ``TWILIO_AUTH_TOKEN``: a local demo with the stand-in, where the demo
agents and a loopback URL are fine. With a real token, a missing public URL or an agent whose
password is a documented demo one stops the start.
"""

from __future__ import annotations

from ivr import public_url
from ivr.settings import Settings


def startup_problems(settings: Settings, config,
                     console: bool = True) -> tuple[list[str], list[str]]:
    """(errors, warnings) for this environment and config bundle (``console``: this process
    serves the agent console, so agent passwords and API tokens matter)."""
    from ivr.routing.agents import agents_with_demo_passwords

    errors: list[str] = []
    warnings: list[str] = []
    service = config.service
    try:
        url = public_url.resolve(settings.public_url, service.public_url, settings.dev_mode,
                                 settings.dev_public_url)
    except public_url.PublicUrlError as exc:
        errors.append(f"public URL: {exc}")
    else:
        errs, warns = public_url.problems(url, settings.dev_mode)
        errors += errs
        warnings += warns
    if console and not settings.dev_mode:
        demo = agents_with_demo_passwords(config.agents)
        if demo:
            errors.append(
                "agents with a documented demo password (docs/agent-console.md): "
                + ", ".join(demo) + "; set real ones with `ivr agents set-password ID --write`"
            )
    if service.twilio.api_base and service.twilio.api_base.rstrip("/") != "https://api.twilio.com":
        warnings.append("config twilio.api_base is ignored: the REST base URL receives the auth "
                        "token, so it comes only from the TWILIO_API_BASE environment variable")
    shared_agent = settings.agent_api_agent
    if not console:
        return errors, warnings
    if settings.agent_api_token and shared_agent and config.agents.agent(shared_agent) is None:
        errors.append(f"IVR_AGENT_API_AGENT names unknown agent {shared_agent!r}")
    if settings.agent_api_token and not shared_agent:
        warnings.append("IVR_AGENT_API_TOKEN without IVR_AGENT_API_AGENT is read-only (queue "
                        "list); give each tool its own per-agent token (`ivr agents new-token`)")
    return errors, warnings
